import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPAttributeAndNamespaceTests {
    let document: XMLElement

    init() throws {
        self.document = try XCAPFixtures.document(XCAPFixtures.resourceLists)
    }

    func put(_ value: String, at selector: String) throws -> XCAPWriteResult {
        try XCAPAttributeOperations.put(
            XCAPFixtures.bytes(value), at: try XCAPFixtures.selector(selector), in: self.document,
            documentURI: XCAPFixtures.documentURI)
    }

    func putError(_ value: String, at selector: String) throws -> XCAPOperationError? {
        let selector = try XCAPFixtures.selector(selector)
        let document = self.document
        return operationError {
            try XCAPAttributeOperations.put(XCAPFixtures.bytes(value), at: selector, in: document, documentURI: XCAPFixtures.documentURI)
        }
    }

    // MARK: - Attributes

    @Test func getReturnsTheEscapedValue() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/@name"#)
        #expect(try XCAPAttributeOperations.get(selector, in: self.document) == "close-friends")
        let changed = try self.put("a &amp; &quot;b&quot; &lt;c&gt;", at: #"resource-lists/list/list[@name="close-friends"]/entry[1]/@uri"#)
        let entry = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/entry[1]/@uri"#)
        #expect(try XCAPAttributeOperations.get(entry, in: changed.document) == "a &amp; &quot;b&quot; &lt;c&gt;")
    }

    func closeFriends(in document: XMLElement) throws -> XMLElement {
        let selector = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]"#)
        guard case .one(let path) = selector.matchElements(in: document), let list = document.element(at: path) else {
            throw XCAPOperationError.notFound(reason: "close-friends")
        }
        return list
    }

    @Test func putReplacesAnExistingAttributeInPlace() throws {
        let result = try self.put("sip:joseph@example.com", at: #"resource-lists/list/list[@name="close-friends"]/entry[1]/@uri"#)
        #expect(result.outcome == .replaced)
        #expect(result.outcome.status == 200)
        let joe = try #require(try self.closeFriends(in: result.document).childElements.first { $0.name.local == "entry" })
        #expect(joe.attributes.map(\.value) == ["sip:joseph@example.com"])
    }

    @Test func putThatTheURIWouldNoLongerSelectCannotInsert() throws {
        // Changing the very attribute the last step tests would make the URI select nothing.
        let error = try self.putError("sip:william@example.com", at: #"resource-lists/list/entry[@uri="sip:bill@example.com"]/@uri"#)
        #expect(error?.conditionName == "cannot-insert")
    }

    @Test func putCreatesAMissingAttribute() throws {
        let result = try self.put("tag-1", at: #"resource-lists/list/list[@name="close-friends"]/@id"#)
        #expect(result.outcome == .created)
        #expect(result.outcome.status == 201)
        let list = try self.closeFriends(in: result.document)
        #expect(list.attribute("id") == "tag-1")
        #expect(list.attributes.map(\.name.local) == ["name", "id"])
    }

    @Test(arguments: ["a<b", "a&b", "a&unknown;b", "&#0;"])
    func invalidValuesAreNotXMLAttributeValues(_ value: String) throws {
        let error = try self.putError(value, at: #"resource-lists/list/list[@name="close-friends"]/@id"#)
        #expect(error?.conditionName == "not-xml-att-value")
    }

    @Test func referencesInTheBodyAreResolved() throws {
        let result = try self.put("caf&#xE9; &amp; 'tea'", at: #"resource-lists/list/list[@name="close-friends"]/@id"#)
        #expect(try self.closeFriends(in: result.document).attribute("id") == "café & 'tea'")
    }

    @Test func putBelowAMissingElementIsNoParent() throws {
        let error = try self.putError("x", at: #"resource-lists/list[@name="friends"]/list[@name="none"]/@id"#)
        #expect(error?.condition == .noParent(
            ancestor: XCAPFixtures.documentURI + "/~~/resource-lists/list%5B@name=%22friends%22%5D",
            phrase: #"no element at 'resource-lists/list[@name="friends"]/list[@name="none"]'"#))
    }

    @Test func deleteRemovesTheAttributeAnd404sWhenAbsent() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/display-name/@lang"#)
        #expect(operationError { try XCAPAttributeOperations.delete(at: selector, in: self.document) }?.status == 404)

        let created = try self.put("x", at: #"resource-lists/list/list[@name="close-friends"]/@id"#)
        let id = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/@id"#)
        let deleted = try XCAPAttributeOperations.delete(at: id, in: created.document)
        #expect(deleted == self.document)
    }

    // MARK: - Namespace bindings

    @Test func namespaceSelectorReturnsTheInScopeBindings() throws {
        let watcherInfo = try XCAPFixtures.document(XCAPFixtures.watcherInfo)
        let selector = try XCAPFixtures.selector(
            "watcherinfo/watcher-list/namespace::*", defaultNamespace: XCAPFixtures.watcherInfoNamespace)
        let representation = try XCAPNodeOperations.get(selector, in: watcherInfo)
        #expect(representation.contentType == "application/xcap-ns+xml")
        #expect(
            representation.body
                == #"<watcher-list xmlns="urn:ietf:params:xml:ns:watcherinfo" xmlns:ns2="urn:ietf:params:xml:ns:pidf"/>"#)
    }

    @Test func namespaceBindingsCannotBeWritten() throws {
        let selector = try XCAPFixtures.selector("resource-lists/namespace::*")
        let document = self.document
        let put = operationError {
            try XCAPNodeOperations.put(
                XCAPFixtures.bytes("x"), contentType: nil, at: selector, in: document, documentURI: "", usage: ResourceListsUsage())
        }
        #expect(put?.status == 405)
        #expect(put?.allowHeader == "GET")
        let delete = operationError { try XCAPNodeOperations.delete(at: selector, in: document, usage: ResourceListsUsage()) }
        #expect(delete?.status == 405)
    }
}
