import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPResolutionTests {
    let registry = XCAPApplicationUsageRegistry.standard()

    @Test func usageIsFoundByAUIDAndTree() throws {
        let lists = try XCAPURI.parse(path: "/resource-lists/users/sip:a@b/index")
        #expect(try self.registry.usage(for: lists).auid == "resource-lists")
        let unknown = try XCAPURI.parse(path: "/no-such-usage/users/sip:a@b/index")
        #expect(operationError { try self.registry.usage(for: unknown) }?.status == 404)
        let globalLists = try XCAPURI.parse(path: "/resource-lists/global/index")
        #expect(operationError { try self.registry.usage(for: globalLists) }?.status == 404)
        let caps = try XCAPURI.parse(path: "/xcap-caps/global/index")
        #expect(try self.registry.usage(for: caps).isReadOnly)
    }

    @Test func nodeSelectorIsParsedWithTheUsagesDefaultNamespaceAndTheQuery() throws {
        let usage = PresRulesUsage.oma
        let uri = try XCAPURI.parse(
            path: "/org.openmobilealliance.pres-rules/users/sip:a@b/pres-rules/~~/cp:ruleset/cp:rule%5B@id=%22r1%22%5D/cp:actions/sub-handling",
            query: "xmlns(cp=urn:ietf:params:xml:ns:common-policy)")
        let selector = try #require(try uri.parsedNodeSelector(for: usage))
        #expect(selector.steps.last?.nameTest == .name(XMLName(PresRulesUsage.namespace, "sub-handling")))
        #expect(selector.steps.first?.nameTest == .name(XMLName(PresRulesUsage.commonPolicyNamespace, "ruleset")))

        let document = try XCAPURI.parse(path: "/org.openmobilealliance.pres-rules/users/sip:a@b/pres-rules")
        #expect(try document.parsedNodeSelector(for: usage) == nil)

        let unbound = try XCAPURI.parse(path: "/org.openmobilealliance.pres-rules/users/sip:a@b/pres-rules/~~/cp:ruleset")
        #expect(operationError { try unbound.parsedNodeSelector(for: usage) }?.status == 400)
    }

    @Test func missingDocuments() throws {
        let node = try XCAPURI.parse(path: "/xcap/resource-lists/users/sip:a@b/index/~~/resource-lists/list", xcapRoot: "/xcap")
        #expect(node.missingDocumentError(origin: "http://h:8080/", isPut: false).status == 404)
        #expect(
            node.missingDocumentError(origin: "http://h:8080/", isPut: true).condition
                == .noParent(ancestor: "http://h:8080/xcap/", phrase: "document 'index' does not exist"))
        let document = try XCAPURI.parse(path: "/resource-lists/users/sip:a@b/index")
        #expect(document.missingDocumentError(origin: "http://h", isPut: false).status == 404)
    }

    @Test func wildcardPositionInsertsRightAfterThePrecedingElement() throws {
        // As in RFC 4825 §8.2.3's example: `*[2]` goes right after the first element.
        let document = try XCAPFixtures.document(XCAPFixtures.insertionExample)
        let selector = try XCAPFixtures.selector(#"root/*[2][@att="2"]"#, defaultNamespace: "urn:test-app")
        let result = try XCAPElementOperations.put(
            XCAPFixtures.bytes(#"<el2 att="2"/>"#), at: selector, in: document, documentURI: XCAPFixtures.documentURI)
        let expected = try XCAPFixtures.document("""
            <root xmlns="urn:test-app">
            <el1 att="first"/><el2 att="2"/>
            <el1 att="second"/>
            <!-- comment -->
            <el2 att="first"/>
            </root>
            """)
        #expect(result.document == expected)
        #expect(try XCAPElementOperations.delete(at: selector, in: result.document) == document)
    }

    @Test func fragmentMayStartWithWhiteSpaceAndAnXMLDeclaration() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.insertionExample)
        let selector = try XCAPFixtures.selector("root/el3", defaultNamespace: "urn:test-app")
        let result = try XCAPElementOperations.put(
            XCAPFixtures.bytes("\n  <?xml version='1.0'?>\n<el3/>\n"), at: selector, in: document, documentURI: XCAPFixtures.documentURI)
        #expect(result.outcome == .created)
    }
}
