import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPApplicationUsageTests {
    func validate(_ text: String, with usage: some XCAPApplicationUsage) throws -> XCAPOperationError? {
        usage.validate(try XCAPFixtures.document(text))
    }

    // MARK: - resource-lists

    @Test func rfc4826ExampleIsValid() throws {
        #expect(try self.validate(XCAPFixtures.resourceLists, with: ResourceListsUsage()) == nil)
    }

    @Test func duplicateEntryURIIsAUniquenessFailure() throws {
        let error = try self.validate("""
            <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
              <list name="a"><entry uri="sip:x@example.com"/><entry uri="sip:y@example.com"/><entry uri="sip:x@example.com"/></list>
            </resource-lists>
            """, with: ResourceListsUsage())
        #expect(error?.status == 409)
        guard case .uniquenessFailure(let conflicts, _)? = error?.condition else {
            Issue.record("expected uniqueness-failure, got \(String(describing: error))")
            return
        }
        #expect(conflicts == [XCAPUniquenessConflict(field: "resource-lists/list/entry[3]/@uri")])
    }

    @Test func sameEntryInTwoListsIsFine() throws {
        let error = try self.validate("""
            <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
              <list name="a"><entry uri="sip:x@example.com"/></list>
              <list name="b"><entry uri="sip:x@example.com"/></list>
            </resource-lists>
            """, with: ResourceListsUsage())
        #expect(error == nil)
    }

    @Test func duplicateSiblingListNamesAreAUniquenessFailure() throws {
        let error = try self.validate("""
            <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="a"/><list name="a"/></resource-lists>
            """, with: ResourceListsUsage())
        #expect(error?.conditionName == "uniqueness-failure")
        let nested = try self.validate("""
            <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><list name="n"/><list name="n"/></list></resource-lists>
            """, with: ResourceListsUsage())
        #expect(nested?.conditionName == "uniqueness-failure")
    }

    static let invalidResourceLists: [(String, String)] = [
        (#"<lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><entry uri="sip:a@b"/></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry-ref/></list></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external/></list></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><display-name/><display-name/></list></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><bogus/></list></resource-lists>"#, "schema-validation-error"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external anchor="sip:a@b"/></list></resource-lists>"#, "constraint-failure"),
        (#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry-ref ref="http://x/y"/></list></resource-lists>"#, "constraint-failure"),
    ]

    @Test(arguments: Self.invalidResourceLists)
    func invalidResourceListsAreRejected(text: String, condition: String) throws {
        #expect(try self.validate(text, with: ResourceListsUsage())?.conditionName == condition)
    }

    @Test func elementsOfOtherNamespacesAreLeftAlone() throws {
        let error = try self.validate("""
            <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:x">
              <x:meta/><list><x:note/><entry uri="sip:a@b"><x:group>g</x:group></entry></list>
            </resource-lists>
            """, with: ResourceListsUsage())
        #expect(error == nil)
    }

    // MARK: - rls-services

    static let rlsServices = """
        <rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
          <service uri="sip:mybuddies@example.com">
            <resource-list>http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d</resource-list>
            <packages><package>presence</package></packages>
          </service>
          <service uri="sip:marketing@example.com">
            <list name="marketing"><rl:entry uri="sip:joe@example.com"/><rl:entry uri="sip:sudhir@example.com"/></list>
            <packages><package>presence</package></packages>
          </service>
        </rls-services>
        """

    @Test func rfc4826RLSServicesExampleIsValid() throws {
        #expect(try self.validate(Self.rlsServices, with: RLSServicesUsage()) == nil)
        #expect(RLSServicesUsage.serviceURIs(in: try XCAPFixtures.document(Self.rlsServices)) == ["sip:mybuddies@example.com", "sip:marketing@example.com"])
    }

    @Test func duplicateServiceURIIsAUniquenessFailure() throws {
        let error = try self.validate("""
            <rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
              <service uri="sip:a@b"><resource-list>http://x/1</resource-list></service>
              <service uri="sip:a@b"><resource-list>http://x/2</resource-list></service>
            </rls-services>
            """, with: RLSServicesUsage())
        #expect(error?.condition == .uniquenessFailure(
            [XCAPUniquenessConflict(field: "rls-services/service[2]/@uri")], phrase: "service 'sip:a@b' is defined twice"))
    }

    @Test func serviceURIOfAnotherUserIsAUniquenessFailure() throws {
        let usage = RLSServicesUsage(isServiceURITakenElsewhere: { $0 == "sip:marketing@example.com" })
        let error = try self.validate(Self.rlsServices, with: usage)
        guard case .uniquenessFailure(let conflicts, _)? = error?.condition else {
            Issue.record("expected uniqueness-failure, got \(String(describing: error))")
            return
        }
        #expect(conflicts.map(\.field) == ["rls-services/service[2]/@uri"])
        let withAlternatives = RLSServicesUsage.uniquenessFailure(
            serviceURIAt: [3], in: try XCAPFixtures.document(Self.rlsServices), alternatives: ["sip:marketing2@example.com"])
        #expect(withAlternatives.errorDocument?.contains("<alt-value>sip:marketing2@example.com</alt-value>") == true)
    }

    static let invalidRLSServices: [(String, String)] = [
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service><resource-list>http://x</resource-list></service></rls-services>"#, "schema-validation-error"),
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@b"/></rls-services>"#, "schema-validation-error"),
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@b"><resource-list>http://x</resource-list><list/></service></rls-services>"#, "schema-validation-error"),
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:a@b"><resource-list>sip:x@y</resource-list></service></rls-services>"#, "constraint-failure"),
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists"><service uri="sip:a@b"><list><rl:entry uri="sip:x"/><rl:entry uri="sip:x"/></list></service></rls-services>"#, "uniqueness-failure"),
        (#"<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><other/></rls-services>"#, "schema-validation-error"),
    ]

    @Test(arguments: Self.invalidRLSServices)
    func invalidRLSServicesAreRejected(text: String, condition: String) throws {
        #expect(try self.validate(text, with: RLSServicesUsage())?.conditionName == condition)
    }

    // MARK: - pres-rules

    @Test func duplicateRuleIDIsAUniquenessFailure() throws {
        let error = try self.validate("""
            <cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy">
              <cr:rule id="a"/><cr:rule id="b"/><cr:rule id="a"/>
            </cr:ruleset>
            """, with: PresRulesUsage.oma)
        #expect(error?.condition == .uniquenessFailure(
            [XCAPUniquenessConflict(field: "cr:ruleset/cr:rule[3]/@id")], phrase: "rule id 'a' is used twice"))
    }

    @Test func ruleWithoutIDAndWrongRootAreSchemaErrors() throws {
        #expect(try self.validate(#"<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"><rule/></ruleset>"#, with: PresRulesUsage.ietf)?
            .conditionName == "schema-validation-error")
        #expect(try self.validate(#"<ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"/>"#, with: PresRulesUsage.ietf)?
            .conditionName == "schema-validation-error")
    }

    // MARK: - pidf-manipulation

    @Test func pidfIDsMustBeUnique() throws {
        let valid = """
            <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@b">
              <tuple id="t1"><status><basic>open</basic></status></tuple><pdm:person id="p1"/>
            </presence>
            """
        #expect(try self.validate(valid, with: PIDFManipulationUsage()) == nil)
        let duplicate = valid.replacing(#"id="p1""#, with: #"id="t1""#)
        #expect(try self.validate(duplicate, with: PIDFManipulationUsage())?.conditionName == "uniqueness-failure")
        #expect(try self.validate(#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple/></presence>"#, with: PIDFManipulationUsage())?
            .conditionName == "schema-validation-error")
    }

    // MARK: - xcap-caps and the OMA directory

    @Test func capabilitiesDocumentListsEveryRegisteredUsage() throws {
        let registry = XCAPApplicationUsageRegistry.standard()
        let caps = registry.capabilitiesDocument()
        #expect(XCAPCapabilitiesUsage().validate(caps) == nil)
        let ns = XCAPCapabilitiesUsage.namespace
        let auids = caps.firstChild(named: XMLName(ns, "auids"))?.childElements.map(\.text)
        #expect(auids == registry.auids)
        #expect(auids?.contains("org.openmobilealliance.pres-content") == true)
        let namespaces = caps.firstChild(named: XMLName(ns, "namespaces"))?.childElements.map(\.text) ?? []
        #expect(namespaces.contains("urn:ietf:params:xml:ns:common-policy"))
        #expect(Set(namespaces).count == namespaces.count)
        #expect(caps.firstChild(named: XMLName(ns, "extensions")) == nil)
        #expect(XMLSerializer.serialize(caps, declaration: false).hasPrefix(
            #"<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>xcap-caps</auid>"#))
    }

    @Test func registryLooksUpByAUIDAndKnowsTreesAndReadOnlyUsages() throws {
        let registry = XCAPApplicationUsageRegistry.standard()
        #expect(registry["resource-lists"]?.defaultNamespace == ResourceListsUsage.namespace)
        #expect(registry["org.openmobilealliance.pres-rules"]?.mimeType == "application/auth-policy+xml")
        #expect(registry["nope"] == nil)
        let caps = try #require(registry["xcap-caps"])
        #expect(caps.isReadOnly)
        #expect(caps.supports(.global))
        #expect(!caps.supports(.users(xui: "sip:a@b")))
        #expect(try #require(registry["org.openmobilealliance.xcap-directory"]).isReadOnly)
        #expect(!(try #require(registry["resource-lists"]).isReadOnly))
    }

    @Test func directoryDocumentHasTheShapeOfSeed001() throws {
        let document = XCAPDirectoryUsage.document(folders: [
            .init(auid: "rls-services", entries: [
                .init(uri: "http://192.168.1.2:8080/rls-services/users/sip%3A%2B339012341234%40Test-rcs.com/index", etag: "e1")
            ]),
            .init(auid: "resource-lists"),
            .init(auid: "org.openmobilealliance.pres-rules", entries: [
                .init(uri: "http://h/p", etag: "e2", lastModified: "2014-06-19T15:30:47Z", size: 2204)
            ]),
        ])
        #expect(XCAPDirectoryUsage().validate(document) == nil)
        #expect(
            XMLSerializer.serialize(document, declaration: false)
                == #"<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">"#
                + #"<folder auid="rls-services"><entry uri="http://192.168.1.2:8080/rls-services/users/sip%3A%2B339012341234%40Test-rcs.com/index" etag="e1"/></folder>"#
                + #"<folder auid="resource-lists"/>"#
                + #"<folder auid="org.openmobilealliance.pres-rules"><entry uri="http://h/p" etag="e2" last-modified="2014-06-19T15:30:47Z" size="2204"/></folder>"#
                + "</xcap-directory>")
    }

    // MARK: - pres-content

    static let icon = """
        <content xmlns="urn:oma:xml:prs:pres-content">
          <mime-type>image/jpeg</mime-type>
          <encoding>base64</encoding>
          <data>/9j/4AAQ
          SkZJRg==</data>
        </content>
        """

    @Test func presContentDocumentIsValidatedAndDecoded() throws {
        let usage = PresContentUsage()
        #expect(try self.validate(Self.icon, with: usage) == nil)
        let content = try #require(PresContentUsage.content(of: try XCAPFixtures.document(Self.icon)))
        #expect(content.mimeType == "image/jpeg")
        #expect(content.data == [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46])
        #expect(try self.validate(Self.icon.replacing("base64", with: "hex"), with: usage)?.conditionName == "constraint-failure")
        #expect(try self.validate(Self.icon.replacing("SkZJRg==", with: "Sk*JRg=="), with: usage)?.conditionName == "constraint-failure")
        #expect(try self.validate(Self.icon.replacing("image/jpeg", with: "jpeg"), with: usage)?.conditionName == "constraint-failure")
        #expect(try self.validate(#"<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>base64</encoding></content>"#, with: usage)?.conditionName == "schema-validation-error")
        #expect(try self.validate(Self.icon, with: PresContentUsage(maxContentBytes: 4))?.conditionName == "constraint-failure")
    }

    @Test func presContentTakesItsXMLTypeOrRawImages() {
        let usage = PresContentUsage(maxContentBytes: 8)
        #expect(usage.contentKind(forContentType: "application/vnd.oma.pres-content+xml") == .xml)
        #expect(usage.contentKind(forContentType: "image/png; charset=binary") == .binary)
        #expect(usage.contentKind(forContentType: "text/plain") == nil)
        #expect(usage.validateBinary([1, 2, 3], contentType: "image/png") == nil)
        #expect(usage.validateBinary([], contentType: "image/png")?.conditionName == "constraint-failure")
        #expect(usage.validateBinary(Array(repeating: 0, count: 9), contentType: "image/png")?.status == 413)
    }

    @Test(arguments: [("TWFu", [0x4D, 0x61, 0x6E]), ("TWE=", [0x4D, 0x61]), ("TQ==", [0x4D]), ("TQ", [0x4D]), ("", [])] as [(String, [UInt8])])
    func base64Decodes(text: String, bytes: [UInt8]) {
        #expect(Base64.decode(text) == bytes)
    }

    @Test(arguments: ["T", "TQ=a", "TQ===", "T!==", "TWFuTQ=x"])
    func base64RejectsMalformedText(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
