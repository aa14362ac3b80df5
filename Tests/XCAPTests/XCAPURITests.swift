import Testing
@testable import XCAP

@Suite struct XCAPURITests {
    @Test func seed001DirectoryPathDecodesTheXUI() throws {
        let uri = try XCAPURI.parse(
            path: "/org.openmobilealliance.xcap-directory/users/sip%3A%2B339012341234%40Test-rcs.com/directory.xml")
        #expect(uri.auid == "org.openmobilealliance.xcap-directory")
        #expect(uri.tree == .users(xui: "sip:+339012341234@Test-rcs.com"))
        #expect(uri.documentPath == ["directory.xml"])
        #expect(uri.nodeSelector == nil)
        #expect(uri.namespaceBindings.isEmpty)
    }

    @Test(arguments: [
        ("/rls-services/users/sip%3A%2B339012341234%40Test-rcs.com/index", "rls-services", "index"),
        ("/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index", "resource-lists", "index"),
        ("/org.openmobilealliance.pres-rules/users/sip%3A%2B339012341234%40Test-rcs.com/pres-rules", "org.openmobilealliance.pres-rules", "pres-rules"),
        ("/pidf-manipulation/users/sip%3A%2B339012341234%40Test-rcs.com/perm-presence", "pidf-manipulation", "perm-presence"),
        ("/org.openmobilealliance.pres-content/users/sip%3A%2B339012341234%40Test-rcs.com/oma_status-icon/rcs_status_icon", "org.openmobilealliance.pres-content", "oma_status-icon/rcs_status_icon"),
    ])
    func seed001DocumentPaths(path: String, auid: String, document: String) throws {
        let uri = try XCAPURI.parse(path: path)
        #expect(uri.auid == auid)
        #expect(uri.xui == "sip:+339012341234@Test-rcs.com")
        #expect(uri.documentName == document)
        #expect(uri.nodeSelector == nil)
    }

    @Test func seed001ElementPathsDecodeTheNodeSelector() throws {
        let get = try XCAPURI.parse(
            path: "/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D")
        #expect(get.documentPath == ["index"])
        #expect(get.nodeSelector == #"resource-lists/list[@name="rcs"]"#)

        let put = try XCAPURI.parse(
            path: "/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D/entry%5B@uri=%22sip%3A%2B330123456789%40Test-rcs.com%3Buser%3Dphone%22%5D")
        #expect(put.nodeSelector == #"resource-lists/list[@name="rcs"]/entry[@uri="sip:+330123456789@Test-rcs.com;user=phone"]"#)
    }

    @Test func unencodedXUIAsInSeed001PresRulesAnchorsParsesToTheSameUser() throws {
        let uri = try XCAPURI.parse(
            path: "/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D")
        #expect(uri.xui == "sip:+339012341234@Test-rcs.com")
        #expect(uri.nodeSelector == #"resource-lists/list[@name="oma_grantedcontacts"]"#)
    }

    @Test func aSlashInsideAnAttributeValueStaysInTheNodeSelector() throws {
        let uri = try XCAPURI.parse(path: "/resource-lists/users/joe/index/~~/resource-lists/list/external%5B@anchor=%22http://a/b%22%5D")
        #expect(uri.nodeSelector == #"resource-lists/list/external[@anchor="http://a/b"]"#)
    }

    @Test func globalTreeAndXCAPRoot() throws {
        let uri = try XCAPURI.parse(path: "/xcap-root/xcap-caps/global/index", xcapRoot: "/xcap-root/")
        #expect(uri.auid == "xcap-caps")
        #expect(uri.tree == .global)
        #expect(uri.xui == nil)
        #expect(uri.userKey == nil)
        #expect(uri.documentPath == ["index"])
        #expect(uri.xcapRoot == "/xcap-root")
        #expect(uri.documentURI(origin: "http://xcap.example.com/") == "http://xcap.example.com/xcap-root/xcap-caps/global/index")
    }

    @Test func documentURIReencodesTheXUIAsRCSClientsDo() throws {
        let uri = try XCAPURI.parse(path: "/resource-lists/users/sip:+339012341234@Test-rcs.com/index")
        #expect(uri.documentURIPath == "/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index")
    }

    @Test func queryNamespaceBindings() throws {
        let uri = try XCAPURI.parse(
            path: "/pres-rules/users/sip:joe@example.com/index/~~/cp:ruleset/cp:rule%5B@id=%22a%22%5D",
            query: "xmlns(cp=urn:ietf:params:xml:ns:common-policy)xmlns(pr=urn:ietf:params:xml:ns:pres-rules)")
        #expect(uri.namespaceBindings == ["cp": "urn:ietf:params:xml:ns:common-policy", "pr": "urn:ietf:params:xml:ns:pres-rules"])

        let inline = try XCAPURI.parse(path: "/pres-rules/users/joe/index/~~/cp:ruleset?xmlns(cp=urn:x%3Ay)")
        #expect(inline.nodeSelector == "cp:ruleset")
        #expect(inline.namespaceBindings == ["cp": "urn:x:y"])
    }

    @Test func xpointerEscapesInNamespaceBindings() throws {
        let bindings = try XCAPNamespaceBindings.parse("xmlns(a=urn:x^(1^)^^) xmlns(b=urn:y)")
        #expect(bindings == ["a": "urn:x(1)^", "b": "urn:y"])
        #expect(XCAPNamespaceBindings.query(for: bindings) == "xmlns(a=urn:x^(1^)^^)xmlns(b=urn:y)")
    }

    @Test(arguments: [
        "_=123", "xmlns(a=urn:x", "xmlns(=urn:x)", "xmlns(a)", "xmlns(1a=urn:x)", "xmlns(a=)", "xmlns(xmlns=urn:x)",
        "xmlns(a=urn:x)xmlns(a=urn:y)",
    ])
    func malformedQueriesAreRejected(_ query: String) {
        #expect(throws: XCAPURIError.self) { try XCAPNamespaceBindings.parse(query) }
    }

    static let malformedPaths: [(String, XCAPURIError)] = [
        ("/other/resource-lists/users/joe/index", XCAPURIError.outsideXCAPRoot(path: "/other/resource-lists/users/joe/index", xcapRoot: "/xcap")),
        ("/xcap", .missingAUID),
        ("/xcap/", .missingAUID),
        ("/xcap/resource-lists", .missingTree(auid: "resource-lists")),
        ("/xcap/resource-lists/everyone/index", .unknownTree("everyone")),
        ("/xcap/resource-lists/users", .missingXUI),
        ("/xcap/resource-lists/users/joe", .missingDocument),
        ("/xcap/resource-lists/users/joe/", .missingDocument),
        ("/xcap/resource-lists/users/joe/dir//index", .emptySegment),
        ("/xcap/resource-lists/users/joe/index/", .emptySegment),
        ("/xcap/resource-lists/users/joe/../index", .forbiddenSegment("..")),
        ("/xcap/resource-lists/users/joe/a%2Fb", .forbiddenSegment("a/b")),
        ("/xcap/resource-lists/users/jo%G0e/index", .invalidPercentEncoding("jo%G0e")),
        ("/xcap/resource-lists/users/jo%FFe/index", .invalidPercentEncoding("jo%FFe")),
        ("/xcap/resource-lists/users/joe/index/~~/", .emptyNodeSelector),
        ("/xcap/resource-lists/global", .missingDocument),
    ]

    @Test(arguments: Self.malformedPaths)
    func malformedPathsAreRejectedWithAReason(path: String, expected: XCAPURIError) {
        #expect(throws: expected) { try XCAPURI.parse(path: path, xcapRoot: "/xcap") }
        #expect(!expected.reason.isEmpty)
    }

    @Test func unknownPathsAre404AndUndecodablePathsAre400() {
        #expect(XCAPURIError.missingDocument.httpStatus == 404)
        #expect(XCAPURIError.invalidPercentEncoding("%G").httpStatus == 400)
    }

    @Test(arguments: [
        ("sip:+339012341234@Test-rcs.com", "sip:+339012341234@test-rcs.com"),
        ("SIP:+339012341234@test-rcs.com", "sip:+339012341234@test-rcs.com"),
        ("sip:Alice@Example.COM;transport=tcp", "sip:Alice@example.com;transport=tcp"),
        ("sips:Example.COM", "sips:example.com"),
        ("tel:+331234", "tel:+331234"),
        ("alice", "alice"),
    ])
    func userKeyLowercasesSchemeAndHostOnly(xui: String, key: String) {
        #expect(XCAPUserKey.normalize(xui) == key)
    }

    @Test func seed001SpellingsOfOneUserShareAKey() throws {
        let upper = try XCAPURI.parse(path: "/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index")
        let lower = try XCAPURI.parse(path: "/resource-lists/users/sip%3A%2B339012341234%40test-rcs.com/index")
        #expect(upper.userKey == lower.userKey)
        #expect(upper.userKey == "sip:+339012341234@test-rcs.com")
    }
}
