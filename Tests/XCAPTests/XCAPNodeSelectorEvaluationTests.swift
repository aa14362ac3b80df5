import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPNodeSelectorEvaluationTests {
    let resourceLists: XMLElement
    let watcherInfo: XMLElement

    init() throws {
        self.resourceLists = try XCAPFixtures.document(XCAPFixtures.resourceLists)
        self.watcherInfo = try XCAPFixtures.document(XCAPFixtures.watcherInfo)
    }

    func element(_ selector: String, in document: XMLElement, defaultNamespace: String = ResourceListsUsage.namespace,
                 bindings: [String: String] = [:]) throws -> XMLElement? {
        let selector = try XCAPFixtures.selector(selector, defaultNamespace: defaultNamespace, bindings: bindings)
        guard case .element(let path)? = selector.select(in: document) else { return nil }
        return document.element(at: path)
    }

    @Test func firstStepMatchesTheRoot() throws {
        #expect(try self.element("resource-lists", in: self.resourceLists)?.name.local == "resource-lists")
        #expect(try self.element("resource-lists[1]", in: self.resourceLists) != nil)
        #expect(try self.element("resource-lists[2]", in: self.resourceLists) == nil)
        #expect(try self.element("*", in: self.resourceLists) != nil)
        #expect(try self.element("list", in: self.resourceLists) == nil)
    }

    @Test func attributeTestsFollowNestedLists() throws {
        let nancy = try self.element(
            #"resource-lists/list[@name="friends"]/list[@name="close-friends"]/entry[@uri="sip:nancy@example.com"]/display-name"#,
            in: self.resourceLists)
        #expect(nancy?.text == "Nancy Gross")
    }

    @Test func positionCountsSiblingsPassingTheNameTest() throws {
        // The friends list holds entry, entry-ref, list: entry[1] is Bill, there is no entry[2].
        #expect(try self.element("resource-lists/list/entry[1]", in: self.resourceLists)?.attribute("uri") == "sip:bill@example.com")
        #expect(try self.element("resource-lists/list/entry[2]", in: self.resourceLists) == nil)
        // The close-friends list: display-name, entry, entry, external.
        let closeFriends = #"resource-lists/list/list[@name="close-friends"]"#
        #expect(try self.element(closeFriends + "/entry[2]", in: self.resourceLists)?.attribute("uri") == "sip:nancy@example.com")
        // `*[n]` counts every child element, whatever its name; text nodes never count.
        #expect(try self.element(closeFriends + "/*[3]", in: self.resourceLists)?.attribute("uri") == "sip:nancy@example.com")
        #expect(try self.element(closeFriends + "/*[4]", in: self.resourceLists)?.name.local == "external")
        #expect(try self.element(closeFriends + "/*[5]", in: self.resourceLists) == nil)
        #expect(try self.element(closeFriends + "/*[0]", in: self.resourceLists) == nil)
    }

    @Test func positionIsAppliedBeforeTheAttributeTest() throws {
        let closeFriends = #"resource-lists/list/list[@name="close-friends"]"#
        #expect(try self.element(closeFriends + #"/entry[2][@uri="sip:nancy@example.com"]"#, in: self.resourceLists) != nil)
        // The first entry is Joe: `entry[1][@uri=nancy]` selects nothing, although Nancy is an entry.
        #expect(try self.element(closeFriends + #"/entry[1][@uri="sip:nancy@example.com"]"#, in: self.resourceLists) == nil)
    }

    @Test func moreThanOneMatchSelectsNothing() throws {
        let selector = try XCAPFixtures.selector("resource-lists/list/list/entry")
        #expect(selector.matchElements(in: self.resourceLists) == .many)
        #expect(selector.elementPaths(in: self.resourceLists).count == 2)
        #expect(selector.select(in: self.resourceLists) == nil)
    }

    @Test func unprefixedNamesAreInTheDefaultNamespaceAndPrefixesComeFromTheQuery() throws {
        let wi = XCAPFixtures.watcherInfoNamespace
        let watcher = try self.element(
            #"watcherinfo/watcher-list/watcher[@id="8ajksjda7s"]"#, in: self.watcherInfo, defaultNamespace: wi)
        #expect(watcher?.text == "sip:userA@example.net")
        let tuple = try self.element(
            "watcherinfo/watcher-list/ns2:tuple", in: self.watcherInfo, defaultNamespace: wi,
            bindings: ["ns2": XCAPFixtures.pidfNamespace])
        #expect(tuple?.attribute("id") == "8984")
        // The same local name in the default namespace is another element.
        #expect(try self.element("watcherinfo/watcher-list/tuple", in: self.watcherInfo, defaultNamespace: wi) == nil)
        // A prefix in the selector need not be the document's: only the namespace counts.
        let samePidf = try self.element(
            "watcherinfo/watcher-list/p:tuple/p:status/p:basic", in: self.watcherInfo, defaultNamespace: wi,
            bindings: ["p": XCAPFixtures.pidfNamespace])
        #expect(samePidf?.text == "open")
        // `*[3]` is the tuple: the third child element of watcher-list.
        #expect(try self.element("watcherinfo/watcher-list/*[3]", in: self.watcherInfo, defaultNamespace: wi)?.name.local == "tuple")
    }

    @Test func attributeSelectorSelectsAnExistingAttribute() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/@name"#)
        guard case .attribute(_, let name, let value)? = selector.select(in: self.resourceLists) else {
            Issue.record("no attribute selected")
            return
        }
        #expect(name == XMLName("", "name"))
        #expect(value == "close-friends")
        let missing = try XCAPFixtures.selector(#"resource-lists/list/list[@name="close-friends"]/@missing"#)
        #expect(missing.select(in: self.resourceLists) == nil)
    }
}
