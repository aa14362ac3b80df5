import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPElementOperationsTests {
    let testApp = "urn:test-app"

    func insertionExample() throws -> XMLElement { try XCAPFixtures.document(XCAPFixtures.insertionExample) }

    func put(_ body: String, at selector: String, in document: XMLElement, options: XCAPPutOptions = .strict) throws -> XCAPWriteResult {
        let selector = try XCAPFixtures.selector(selector, defaultNamespace: self.testApp)
        return try XCAPElementOperations.put(
            XCAPFixtures.bytes(body), at: selector, in: document, documentURI: XCAPFixtures.documentURI, options: options)
    }

    func putError(_ body: String, at selector: String, in document: XMLElement, options: XCAPPutOptions = .strict) throws
        -> XCAPOperationError?
    {
        let selector = try XCAPFixtures.selector(selector, defaultNamespace: self.testApp)
        return operationError {
            try XCAPElementOperations.put(
                XCAPFixtures.bytes(body), at: selector, in: document, documentURI: XCAPFixtures.documentURI, options: options)
        }
    }

    // MARK: - GET

    @Test func getReturnsTheFragmentWithItsInheritedNamespace() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.resourceLists)
        let selector = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/entry[@uri="sip:joe@example.com"]"#)
        let fragment = try XCAPElementOperations.get(selector, in: document)
        #expect(!fragment.hasPrefix("<?xml"))
        #expect(fragment.hasPrefix(#"<entry xmlns="urn:ietf:params:xml:ns:resource-lists" uri="sip:joe@example.com">"#))
        #expect(fragment.contains("<display-name>Joe Smith</display-name>"))
        // The fragment stands on its own.
        let reparsed = try XMLDocumentParser.parse(fragment)
        #expect(reparsed.name == XMLName(ResourceListsUsage.namespace, "entry"))
    }

    @Test func getOfPrefixedElementKeepsThePrefixBinding() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.watcherInfo)
        let selector = try XCAPFixtures.selector(
            "watcherinfo/watcher-list/p:tuple", defaultNamespace: XCAPFixtures.watcherInfoNamespace,
            bindings: ["p": XCAPFixtures.pidfNamespace])
        let fragment = try XCAPElementOperations.get(selector, in: document)
        let reparsed = try XMLDocumentParser.parse(fragment)
        #expect(reparsed.name == XMLName(XCAPFixtures.pidfNamespace, "tuple"))
        #expect(fragment.hasPrefix("<ns2:tuple"))
    }

    @Test func getOfNothingOrOfSeveralIsNotFound() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.resourceLists)
        let none = try XCAPFixtures.selector(#"resource-lists/list[@name="enemies"]"#)
        #expect(operationError { try XCAPElementOperations.get(none, in: document) }?.status == 404)
        let several = try XCAPFixtures.selector("resource-lists/list/list/entry")
        #expect(operationError { try XCAPElementOperations.get(several, in: document) }?.status == 404)
    }

    // MARK: - PUT: insertion (RFC 4825 §8.2.3's example)

    static let insertsAfterTheSecondEl1 = [#"root/el1[@att="third"]"#, #"root/el1[3][@att="third"]"#, #"root/*[3][@att="third"]"#]

    @Test(arguments: Self.insertsAfterTheSecondEl1)
    func insertionGoesAfterTheLastSiblingOfTheSameName(selector: String) throws {
        let result = try self.put(#"<el1 att="third"/>"#, at: selector, in: try self.insertionExample())
        #expect(result.outcome == .created)
        #expect(result.outcome.status == 201)
        let expected = try XCAPFixtures.document("""
            <root xmlns="urn:test-app">
            <el1 att="first"/>
            <el1 att="second"/><el1 att="third"/>
            <!-- comment -->
            <el2 att="first"/>
            </root>
            """)
        #expect(result.document == expected)
    }

    @Test func insertionReversedByDeleteGivesTheOriginalBack() throws {
        let original = try self.insertionExample()
        for text in Self.insertsAfterTheSecondEl1 {
            let inserted = try self.put(#"<el1 att="third"/>"#, at: text, in: original)
            let selector = try XCAPFixtures.selector(text, defaultNamespace: self.testApp)
            #expect(try XCAPElementOperations.delete(at: selector, in: inserted.document) == original)
        }
    }

    @Test(arguments: [#"root/el1[4][@att="third"]"#, #"root/*[0][@att="third"]"#])
    func positionBeyondTheSiblingsCannotInsert(selector: String) throws {
        let error = try self.putError(#"<el1 att="third"/>"#, at: selector, in: try self.insertionExample())
        #expect(error?.conditionName == "cannot-insert")
        #expect(error?.status == 409)
    }

    @Test(arguments: [#"root/el1[@att="third"]"#, #"root/el1[3][@att="third"]"#, #"root/*[3][@att="third"]"#])
    func bodyThatTheURIWouldNotSelectCannotInsert(selector: String) throws {
        let error = try self.putError(#"<el1 att="fourth"/>"#, at: selector, in: try self.insertionExample())
        #expect(error?.conditionName == "cannot-insert")
        #expect(error?.condition?.phrase?.contains("fourth") == true)
    }

    @Test func bodyWithAnotherNameCannotInsert() throws {
        let error = try self.putError(#"<el2 att="third"/>"#, at: #"root/el1[@att="third"]"#, in: try self.insertionExample())
        #expect(error?.conditionName == "cannot-insert")
    }

    @Test func newNameIsAppendedAtTheEndOfTheParent() throws {
        let result = try self.put(#"<el3 att="first"/>"#, at: "root/el3", in: try self.insertionExample())
        let expected = try XCAPFixtures.document("""
            <root xmlns="urn:test-app">
            <el1 att="first"/>
            <el1 att="second"/>
            <!-- comment -->
            <el2 att="first"/>
            <el3 att="first"/></root>
            """)
        #expect(result.document == expected)
    }

    @Test func positionOneGoesBeforeTheFirstSiblingOfTheSameName() throws {
        let result = try self.put(#"<el2 att="2"/>"#, at: #"root/el2[1][@att="2"]"#, in: try self.insertionExample())
        let el2s = result.document.children(named: XMLName(self.testApp, "el2")).map { $0.attribute("att") }
        #expect(el2s == ["2", "first"])
    }

    @Test func wildcardPositionCountsEveryElement() throws {
        let result = try self.put(#"<el2 att="2"/>"#, at: #"root/*[2][@att="2"]"#, in: try self.insertionExample())
        #expect(result.document.childElements.map { $0.attribute("att") } == ["first", "2", "second", "first"])
    }

    @Test func wildcardWithoutPositionPlacesTheBodyAmongItsNamesakes() throws {
        let result = try self.put(#"<el1 att="2"/>"#, at: #"root/*[@att="2"]"#, in: try self.insertionExample())
        #expect(result.document.childElements.map(\.name.local) == ["el1", "el1", "el1", "el2"])
    }

    @Test func missingParentIsNoParentNamingTheClosestAncestor() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.resourceLists)
        let selector = try XCAPFixtures.selector(#"resource-lists/list[@name="friends"]/list[@name="nobody"]/entry"#)
        let error = operationError {
            try XCAPElementOperations.put(
                XCAPFixtures.bytes(#"<entry uri="sip:x@example.com"/>"#), at: selector, in: document,
                documentURI: XCAPFixtures.documentURI)
        }
        #expect(error?.status == 409)
        guard case .noParent(let ancestor, _)? = error?.condition else {
            Issue.record("expected no-parent, got \(String(describing: error))")
            return
        }
        #expect(ancestor == XCAPFixtures.documentURI + "/~~/resource-lists/list%5B@name=%22friends%22%5D")
        #expect(error?.errorDocument?.contains("<ancestor>\(XCAPFixtures.documentURI)/~~/resource-lists/list%5B@name=%22friends%22%5D</ancestor>") == true)
    }

    @Test func missingParentDirectlyBelowAnUnmatchedRootNamesTheDocument() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.resourceLists)
        let selector = try XCAPFixtures.selector("other-root/list/entry")
        let error = operationError {
            try XCAPElementOperations.put(
                XCAPFixtures.bytes(#"<entry uri="sip:x@example.com"/>"#), at: selector, in: document,
                documentURI: XCAPFixtures.documentURI)
        }
        #expect(error?.condition == .noParent(ancestor: XCAPFixtures.documentURI, phrase: "no element at 'other-root/list'"))
    }

    // MARK: - PUT: replacement

    @Test func replacingKeepsThePositionAndIsReplaced() throws {
        let result = try self.put(#"<el1 att="third"/>"#, at: "root/el1[1]", in: try self.insertionExample())
        #expect(result.outcome == .replaced)
        #expect(result.outcome.status == 200)
        #expect(result.document.childElements.map { $0.attribute("att") } == ["third", "second", "first"])
        let wildcard = try self.put(#"<el1 att="third"/>"#, at: "root/*[1]", in: try self.insertionExample())
        #expect(wildcard.document == result.document)
    }

    @Test(arguments: [#"root/el1[@att="first"]"#, #"root/el1[1][@att="first"]"#, #"root/*[1][@att="first"]"#])
    func replacementTheURIWouldNoLongerSelectCannotInsert(selector: String) throws {
        let error = try self.putError(#"<el1 att="third"/>"#, at: selector, in: try self.insertionExample())
        #expect(error?.conditionName == "cannot-insert")
    }

    @Test func replacingTheRootNeedsTheBodyToDeclareItsNamespace() throws {
        let replaced = try self.put(#"<root xmlns="urn:test-app"><el9/></root>"#, at: "root", in: try self.insertionExample())
        #expect(replaced.outcome == .replaced)
        #expect(replaced.document.childElements.map(\.name.local) == ["el9"])
        let error = try self.putError("<root/>", at: "root", in: try self.insertionExample())
        #expect(error?.conditionName == "cannot-insert")
    }

    @Test func prefixedBodyResolvesInTheScopeOfTheParent() throws {
        let document = try XCAPFixtures.document(XCAPFixtures.watcherInfo)
        let selector = try XCAPFixtures.selector(
            #"watcherinfo/watcher-list/p:tuple[@id="t2"]"#, defaultNamespace: XCAPFixtures.watcherInfoNamespace,
            bindings: ["p": XCAPFixtures.pidfNamespace])
        let result = try XCAPElementOperations.put(
            XCAPFixtures.bytes(#"<ns2:tuple id="t2"><ns2:status/></ns2:tuple>"#), at: selector, in: document,
            documentURI: XCAPFixtures.documentURI)
        #expect(result.outcome == .created)
        let reparsed = try XMLDocumentParser.parse(XMLSerializer.serialize(result.document))
        #expect(reparsed == result.document)
        #expect(selector.select(in: reparsed) != nil)
    }

    // MARK: - PUT: bodies

    @Test(arguments: [
        ("text only", "not-xml-frag"),
        ("<a/><b/>", "not-xml-frag"),
        ("<a/>trailing", "not-xml-frag"),
        ("   ", "not-xml-frag"),
        ("<a>", "not-well-formed"),
        ("<x:a/>", "not-well-formed"),
        ("</xcap-fragment><xcap-fragment>", "not-well-formed"),
    ])
    func malformedBodiesAreRejected(body: String, condition: String) throws {
        let error = try self.putError(body, at: "root/a", in: try self.insertionExample())
        #expect(error?.conditionName == condition)
    }

    @Test func bodyThatIsNotUTF8IsRejected() throws {
        let selector = try XCAPFixtures.selector("root/a", defaultNamespace: self.testApp)
        let document = try self.insertionExample()
        let error = operationError {
            try XCAPElementOperations.put([0x3C, 0x61, 0xFF, 0x2F, 0x3E], at: selector, in: document, documentURI: "")
        }
        #expect(error?.conditionName == "not-utf-8")
    }

    @Test func bodyWithXMLDeclarationIsAccepted() throws {
        let result = try self.put(#"<?xml version="1.0" encoding="UTF-8"?><el3/>"#, at: "root/el3", in: try self.insertionExample())
        #expect(result.outcome == .created)
        let latin1 = try self.putError(#"<?xml version="1.0" encoding="ISO-8859-1"?><el3/>"#, at: "root/el3", in: try self.insertionExample())
        #expect(latin1?.conditionName == "not-utf-8")
    }

    @Test func severalMatchesIsNotFound() throws {
        let error = try self.putError("<el1/>", at: "root/el1", in: try self.insertionExample())
        #expect(error?.status == 404)
    }

    // MARK: - DELETE

    @Test func deleteRemovesTheElement() throws {
        let selector = try XCAPFixtures.selector(#"root/el1[@att="second"]"#, defaultNamespace: self.testApp)
        let result = try XCAPElementOperations.delete(at: selector, in: try self.insertionExample())
        #expect(result.childElements.map { $0.attribute("att") } == ["first", "first"])
        #expect(try XMLDocumentParser.parse(XMLSerializer.serialize(result)) == result)
    }

    @Test func deleteThatWouldExposeAnotherElementCannotDelete() throws {
        // Deleting el1[1] makes the second el1 the first: the same URI would select it.
        let document = try self.insertionExample()
        let selector = try XCAPFixtures.selector("root/el1[1]", defaultNamespace: self.testApp)
        let error = operationError { try XCAPElementOperations.delete(at: selector, in: document) }
        #expect(error?.conditionName == "cannot-delete")
        // The last of its name can go.
        let last = try XCAPFixtures.selector("root/el1[2]", defaultNamespace: self.testApp)
        #expect(operationError { try XCAPElementOperations.delete(at: last, in: document) } == nil)
    }

    @Test func deleteOfNothingIsNotFoundAndOfTheRootCannotDelete() throws {
        let document = try self.insertionExample()
        let missing = try XCAPFixtures.selector("root/el7", defaultNamespace: self.testApp)
        #expect(operationError { try XCAPElementOperations.delete(at: missing, in: document) }?.status == 404)
        let root = try XCAPFixtures.selector("root", defaultNamespace: self.testApp)
        #expect(operationError { try XCAPElementOperations.delete(at: root, in: document) }?.conditionName == "cannot-delete")
    }
}
