import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPNodeSelectorParsingTests {
    let rl = ResourceListsUsage.namespace

    @Test func seed001SelectorParsesIntoStepsWithAttributeTests() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list[@name="rcs"]/entry[@uri="sip:+339012341234@Test-rcs.com"]"#)
        #expect(selector.steps.count == 3)
        #expect(selector.steps[0] == .init(nameTest: .name(XMLName(self.rl, "resource-lists")), text: "resource-lists"))
        #expect(selector.steps[1].nameTest == .name(XMLName(self.rl, "list")))
        #expect(selector.steps[1].attributeTest == .init(name: XMLName("", "name"), value: "rcs"))
        #expect(selector.steps[2].attributeTest == .init(name: XMLName("", "uri"), value: "sip:+339012341234@Test-rcs.com"))
        #expect(selector.terminal == nil)
        #expect(selector.description == #"resource-lists/list[@name="rcs"]/entry[@uri="sip:+339012341234@Test-rcs.com"]"#)
    }

    @Test func positionsWildcardsAndSingleQuotes() throws {
        let selector = try XCAPFixtures.selector("resource-lists/*[2]/entry[3][@uri='sip:a@b']")
        #expect(selector.steps[1].nameTest == .any)
        #expect(selector.steps[1].position == 2)
        #expect(selector.steps[2].position == 3)
        #expect(selector.steps[2].attributeTest?.value == "sip:a@b")
    }

    @Test func attributeValuesMayHoldSlashesBracketsAndReferences() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list/external[@anchor="http://x/y?a=[1]&amp;b='2'"]"#)
        #expect(selector.steps.count == 3)
        #expect(selector.steps[2].attributeTest?.value == "http://x/y?a=[1]&b='2'")
        let quoted = try XCAPFixtures.selector(#"resource-lists/list[@name='say "hi"']"#)
        #expect(quoted.steps[1].attributeTest?.value == #"say "hi""#)
    }

    @Test func terminalAttributeAndNamespaceSelectors() throws {
        let attribute = try XCAPFixtures.selector("resource-lists/list[1]/@name")
        #expect(attribute.steps.count == 2)
        #expect(attribute.terminal == .attribute(XMLName("", "name")))
        #expect(attribute.description == "resource-lists/list[1]/@name")
        #expect(attribute.elementSelector.description == "resource-lists/list[1]")

        let namespaces = try XCAPFixtures.selector("resource-lists/list/namespace::*")
        #expect(namespaces.terminal == .namespaces)
    }

    @Test func prefixesResolveThroughQueryBindingsAndUnprefixedNamesToTheDefaultNamespace() throws {
        let cp = "urn:ietf:params:xml:ns:common-policy"
        let selector = try XCAPFixtures.selector(
            #"cp:ruleset/cp:rule[@id="a"]/cp:actions/sub-handling/@cp:x"#, defaultNamespace: PresRulesUsage.namespace,
            bindings: ["cp": cp])
        #expect(selector.steps[0].nameTest == .name(XMLName(cp, "ruleset")))
        #expect(selector.steps[3].nameTest == .name(XMLName(PresRulesUsage.namespace, "sub-handling")))
        #expect(selector.terminal == .attribute(XMLName(cp, "x")))
        #expect(selector.steps[1].attributeTest?.name == XMLName("", "id"))

        let xmlLang = try XCAPFixtures.selector("resource-lists/list/display-name/@xml:lang")
        #expect(xmlLang.terminal == .attribute(XMLName("http://www.w3.org/XML/1998/namespace", "lang")))
    }

    static let malformed: [(String, XCAPNodeSelectorError)] = [
        ("", .empty),
        ("resource-lists//list", .emptyStep),
        ("/resource-lists", .emptyStep),
        ("resource-lists/", .emptyStep),
        (#"resource-lists/list[@name="a]"#, .unterminatedQuote(step: #"list[@name="a]"#)),
        ("resource-lists/list[1", .unbalancedBracket(step: "list[1")),
        ("resource-lists/list]", .unbalancedBracket(step: "list]")),
        ("resource-lists/list[[1]]", .unbalancedBracket(step: "list[[1]]")),
        ("resource-lists/1list", .invalidName("1list")),
        ("resource-lists/a:b:c", .invalidName("a:b:c")),
        ("resource-lists/x:list", .undefinedPrefix("x")),
        ("resource-lists/list[last()]", .invalidPredicate("last()")),
        ("resource-lists/list[-1]", .invalidPredicate("-1")),
        (#"resource-lists/list[@name="a"][1]"#, .invalidPredicateOrder(step: #"list[@name="a"][1]"#)),
        ("resource-lists/list[1][2]", .invalidPredicateOrder(step: "list[1][2]")),
        ("resource-lists/list[99999999999999999999999]", .invalidPosition("99999999999999999999999")),
        ("resource-lists/list[@name=a]", .invalidAttributeValue("a")),
        (#"resource-lists/list[@name="a<b"]"#, .invalidAttributeValue(#""a<b""#)),
        (#"resource-lists/list[@name="a&b"]"#, .invalidAttributeValue(#""a&b""#)),
        (#"resource-lists/list[@name="a"b"c"]"#, .invalidAttributeValue(#""a"b"c""#)),
        ("resource-lists/@name/list", .terminalNotLast("@name")),
        ("resource-lists/namespace::*/list", .terminalNotLast("namespace::*")),
        ("@name", .missingElementStep),
        ("resource-lists/list[1]x", .unsupportedStep("list[1]x")),
        ("resource-lists/@xmlns", .invalidName("xmlns")),
    ]

    @Test(arguments: Self.malformed)
    func malformedSelectorsAreRejectedWithAReason(text: String, expected: XCAPNodeSelectorError) {
        #expect(throws: expected) { try XCAPFixtures.selector(text) }
        #expect(!expected.reason.isEmpty)
        #expect(expected.operationError.status == 400)
    }

    @Test func selectorURIIsEncodedAsRCSClientsWriteIt() throws {
        let selector = try XCAPFixtures.selector(#"resource-lists/list[@name="rcs"]"#)
        #expect(
            selector.uri(documentURI: "http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index")
                == "http://192.168.1.2:8080/resource-lists/users/sip%3A%2B339012341234%40Test-rcs.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D")
        let prefixed = try XCAPFixtures.selector("cp:ruleset", bindings: ["cp": "urn:ietf:params:xml:ns:common-policy"])
        #expect(prefixed.uri(documentURI: "http://h/d") == "http://h/d/~~/cp:ruleset?xmlns(cp=urn:ietf:params:xml:ns:common-policy)")
    }
}
