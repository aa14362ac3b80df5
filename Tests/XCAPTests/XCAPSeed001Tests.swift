import PresenceDocuments
import Testing
@testable import XCAP

/// Seed 001 (an RCS client's XCAP sequence) replayed through the pure operations, the way the
/// HTTP layer will drive them: parse the URI, find the usage, then document or node operations.
@Suite struct XCAPSeed001Tests {
    let registry = XCAPApplicationUsageRegistry.standard()
    let origin = "http://192.168.1.2:8080"
    let user = "/users/sip%3A%2B339012341234%40Test-rcs.com"

    static let rlsServices = """
        <?xml version="1.0" encoding="UTF-8"?> <rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists"> <service uri="sip:+339012341234@Test-rcs.com;pres-list=rcs"> <resource-list>http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D</resource-list> <packages> <package>presence</package> </packages> </service></rls-services>
        """

    static let resourceLists = """
        <?xml version="1.0" encoding="UTF-8"?> <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"> <list name="oma_buddylist"> <external anchor="http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D"/> </list> <list name="oma_grantedcontacts"> <external anchor="http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D"/> </list> <list name="oma_blockedcontacts"> <external anchor="http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs_blockedcontacts%22%5D"/> <external anchor="http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs_revokedcontacts%22%5D"/> </list> <list name="rcs"> <display-name>My presence buddies</display-name> </list> <list name="rcs_blockedcontacts"> <display-name>My blocked contacts</display-name> </list> <list name="rcs_revokedcontacts"> <display-name>My revoked contacts</display-name> </list> </resource-lists>
        """

    static let presRules = """
        <?xml version="1.0" encoding="UTF-8"?> <cr:ruleset xmlns:ocp="urn:oma:xml:xdm:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"> <cr:rule id="wp_prs_allow_own"> <cr:conditions> <cr:identity><cr:one id="sip:+339012341234@Test-rcs.com"/></cr:identity> </cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-persons><pr:all-persons/></pr:provide-persons> <pr:provide-devices><pr:all-devices/></pr:provide-devices> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="rcs_allow_services_anonymous"> <cr:conditions><ocp:anonymous-request/></cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="wp_prs_unlisted"> <cr:conditions><ocp:other-identity/></cr:conditions> <cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions> </cr:rule> <cr:rule id="wp_prs_grantedcontacts"> <cr:conditions> <ocp:external-list> <ocp:entry anc="http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"/> </ocp:external-list> </cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-persons><pr:all-persons/></pr:provide-persons> <pr:provide-devices><pr:all-devices/></pr:provide-devices> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="wp_prs_blockedcontacts"> <cr:conditions> <ocp:external-list> <ocp:entry anc="http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D"/> </ocp:external-list> </cr:conditions> <cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions> </cr:rule> </cr:ruleset>
        """

    static let permPresence = """
        <?xml version="1.0" encoding="UTF-8"?> <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:opd="urn:oma:xml:pde:pidf:ext" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:+339012341234@Test-rcs.com"> <pdm:person id="p1"> <op:overriding-willingness> <op:basic>open</op:basic> </op:overriding-willingness> <ci:homepage></ci:homepage> <rpid:status-icon opd:etag="1403159871372" opd:fsize="2193" opd:contenttype="image/jpeg" opd:resolution="96x96">http://192.168.1.2:8080/org.openmobilealliance.pres-content/users/sip%3A%2B339012341234%40Test-rcs.com/oma_status-icon/rcs_status_icon</rpid:status-icon> <pdm:note></pdm:note> <pdm:timestamp>2014-06-19T06:37:51.000Z</pdm:timestamp> </pdm:person> </presence>
        """

    func acceptDocument(_ path: String, _ body: String, contentType: String) throws -> XMLElement {
        let uri = try XCAPURI.parse(path: path)
        let usage = try #require(self.registry[uri.auid])
        #expect(usage.supports(uri.tree))
        guard case .xml(let document) = try XCAPDocumentOperations.acceptPut(XCAPFixtures.bytes(body), contentType: contentType, usage: usage)
        else {
            throw XCAPOperationError.badRequest(reason: "expected an XML document")
        }
        return document
    }

    @Test func documentPutsOfTheSeedAreAccepted() throws {
        _ = try self.acceptDocument("/rls-services\(self.user)/index", Self.rlsServices, contentType: "application/rls-services+xml")
        _ = try self.acceptDocument("/resource-lists\(self.user)/index", Self.resourceLists, contentType: "application/resource-lists+xml")
        _ = try self.acceptDocument(
            "/org.openmobilealliance.pres-rules\(self.user)/pres-rules", Self.presRules, contentType: "application/auth-policy+xml")
        _ = try self.acceptDocument("/pidf-manipulation\(self.user)/perm-presence", Self.permPresence, contentType: "application/pidf+xml")
    }

    @Test func elementGetAndEntryPutsOfTheSeed() throws {
        var document = try self.acceptDocument(
            "/resource-lists\(self.user)/index", Self.resourceLists, contentType: "application/resource-lists+xml")
        let usage = try #require(self.registry["resource-lists"])

        // GET …/index/~~/resource-lists/list%5B@name=%22rcs%22%5D → 200, application/xcap-el+xml
        let getURI = try XCAPURI.parse(path: "/resource-lists\(self.user)/index/~~/resource-lists/list%5B@name=%22rcs%22%5D")
        let getSelector = try XCAPNodeSelector.parse(
            try #require(getURI.nodeSelector), namespaceBindings: getURI.namespaceBindings, defaultNamespace: usage.defaultNamespace)
        let list = try XCAPNodeOperations.get(getSelector, in: document)
        #expect(list.contentType == "application/xcap-el+xml")
        #expect(list.body == #"<list xmlns="urn:ietf:params:xml:ns:resource-lists" name="rcs"> <display-name>My presence buddies</display-name> </list>"#)

        // PUT …/list[@name="rcs"]/entry[@uri="sip:+339012341234@Test-rcs.com"] → 201
        let ownURI = try XCAPURI.parse(
            path: "/resource-lists\(self.user)/index/~~/resource-lists/list%5B@name=%22rcs%22%5D/entry%5B@uri=%22sip%3A%2B339012341234%40Test-rcs.com%22%5D")
        let own = try XCAPNodeOperations.put(
            XCAPFixtures.bytes("<entry uri='sip:+339012341234@Test-rcs.com'></entry>"), contentType: "application/xcap-el+xml",
            at: try XCAPNodeSelector.parse(try #require(ownURI.nodeSelector), defaultNamespace: usage.defaultNamespace),
            in: document, documentURI: ownURI.documentURI(origin: self.origin), usage: usage)
        #expect(own.outcome == .created)
        document = own.document

        // PUT …/entry[@uri="sip:+330123456789@Test-rcs.com;user=phone"] with a body naming anritsu-rcs.com:
        // RFC 4825 refuses it (the URI would not select the new entry); the seed's server said 201.
        let otherURI = try XCAPURI.parse(
            path: "/resource-lists\(self.user)/index/~~/resource-lists/list%5B@name=%22rcs%22%5D/entry%5B@uri=%22sip%3A%2B330123456789%40Test-rcs.com%3Buser%3Dphone%22%5D")
        let otherSelector = try XCAPNodeSelector.parse(try #require(otherURI.nodeSelector), defaultNamespace: usage.defaultNamespace)
        let otherBody = XCAPFixtures.bytes("<entry uri='sip:+330123456789@anritsu-rcs.com;user=phone'></entry>")
        let documentURI = otherURI.documentURI(origin: self.origin)
        let current = document
        let strict = operationError {
            try XCAPNodeOperations.put(
                otherBody, contentType: "application/xcap-el+xml", at: otherSelector, in: current, documentURI: documentURI, usage: usage)
        }
        #expect(strict?.conditionName == "cannot-insert")
        let lenient = try XCAPNodeOperations.put(
            otherBody, contentType: "application/xcap-el+xml", at: otherSelector, in: document, documentURI: documentURI,
            usage: usage, options: .interoperable)
        #expect(lenient.outcome == .created)

        let rcs = try #require(lenient.document.childElements.first { $0.attribute("name") == "rcs" })
        #expect(rcs.childElements.map { $0.attribute("uri") } == [
            nil, "sip:+339012341234@Test-rcs.com", "sip:+330123456789@anritsu-rcs.com;user=phone",
        ])
        // The stored form reads back as the same tree.
        #expect(try XMLDocumentParser.parse(XMLSerializer.serialize(lenient.document)) == lenient.document)

        // Replacing an entry by an equal one is fine; adding the same URI again is a uniqueness failure.
        let again = lenient.document
        let first = try XCAPNodeSelector.parse(#"resource-lists/list[@name="rcs"]/entry[1]"#, defaultNamespace: usage.defaultNamespace)
        let third = try XCAPNodeSelector.parse(#"resource-lists/list[@name="rcs"]/entry[3]"#, defaultNamespace: usage.defaultNamespace)
        let ownEntry = XCAPFixtures.bytes("<entry uri='sip:+339012341234@Test-rcs.com'/>")
        let replaced = operationError {
            try XCAPNodeOperations.put(
                ownEntry, contentType: "application/xcap-el+xml", at: first, in: again, documentURI: documentURI, usage: usage)
        }
        #expect(replaced == nil)
        let duplicate = operationError {
            try XCAPNodeOperations.put(
                ownEntry, contentType: "application/xcap-el+xml", at: third, in: again, documentURI: documentURI, usage: usage)
        }
        #expect(duplicate?.conditionName == "uniqueness-failure")
    }

    @Test func wrongContentTypesAndReadOnlyUsages() throws {
        let usage = try #require(self.registry["resource-lists"])
        let document = try XCAPFixtures.document(Self.resourceLists)
        let selector = try XCAPNodeSelector.parse(#"resource-lists/list[@name="rcs"]/entry"#, defaultNamespace: usage.defaultNamespace)
        let wrongType = operationError {
            try XCAPNodeOperations.put(
                XCAPFixtures.bytes("<entry uri='sip:a@b'/>"), contentType: "application/resource-lists+xml", at: selector,
                in: document, documentURI: "", usage: usage)
        }
        #expect(wrongType?.status == 415)
        let charset = operationError {
            try XCAPNodeOperations.put(
                XCAPFixtures.bytes("<entry uri='sip:a@b'/>"), contentType: "Application/XCAP-El+XML; charset=UTF-8", at: selector,
                in: document, documentURI: "", usage: usage)
        }
        #expect(charset == nil)

        let directory = try #require(self.registry["org.openmobilealliance.xcap-directory"])
        let put = operationError {
            try XCAPDocumentOperations.acceptPut(XCAPFixtures.bytes("<xcap-directory/>"), contentType: nil, usage: directory)
        }
        #expect(put?.status == 405)
        #expect(operationError { try XCAPDocumentOperations.checkDelete(usage: directory) }?.allowHeader == "GET")
        let wrongDocumentType = operationError {
            try XCAPDocumentOperations.acceptPut(XCAPFixtures.bytes(Self.rlsServices), contentType: "text/plain", usage: usage)
        }
        #expect(wrongDocumentType?.status == 415)
    }

    @Test func malformedDocumentsAreNotWellFormedOrNotUTF8() throws {
        let usage = try #require(self.registry["resource-lists"])
        let broken = operationError {
            try XCAPDocumentOperations.acceptPut(XCAPFixtures.bytes("<resource-lists>"), contentType: nil, usage: usage)
        }
        #expect(broken?.conditionName == "not-well-formed")
        let latin1 = operationError {
            try XCAPDocumentOperations.acceptPut([0x3C, 0x61, 0xE9, 0x2F, 0x3E], contentType: nil, usage: usage)
        }
        #expect(latin1?.conditionName == "not-utf-8")
        let dtd = operationError {
            try XCAPDocumentOperations.acceptPut(
                XCAPFixtures.bytes(#"<!DOCTYPE x [<!ENTITY a "b">]><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>"#),
                contentType: nil, usage: usage)
        }
        #expect(dtd?.conditionName == "not-well-formed")
        let invalid = operationError {
            try XCAPDocumentOperations.acceptPut(XCAPFixtures.bytes(Self.rlsServices), contentType: nil, usage: usage)
        }
        #expect(invalid?.conditionName == "schema-validation-error")
    }

    @Test func statusIconCanBeStoredAsContentOrAsAnImage() throws {
        let uri = try XCAPURI.parse(path: "/org.openmobilealliance.pres-content\(self.user)/oma_status-icon/rcs_status_icon")
        let usage = try #require(self.registry[uri.auid])
        let image = try XCAPDocumentOperations.acceptPut([0xFF, 0xD8, 0xFF], contentType: "image/jpeg", usage: usage)
        #expect(image == .binary([0xFF, 0xD8, 0xFF], contentType: "image/jpeg"))
        let content = try XCAPDocumentOperations.acceptPut(
            XCAPFixtures.bytes(#"<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/jpeg</mime-type><encoding>base64</encoding><data>/9j/</data></content>"#),
            contentType: "application/vnd.oma.pres-content+xml", usage: usage)
        guard case .xml = content else {
            Issue.record("expected an XML content document")
            return
        }
    }
}
