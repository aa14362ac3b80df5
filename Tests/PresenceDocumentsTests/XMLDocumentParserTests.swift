import Testing
@testable import PresenceDocuments

@Suite struct XMLDocumentParserTests {
    @Test func namespacesPrefixesAndTextAreKept() throws {
        let root = try XMLDocumentParser.parse(
            "<a:root xmlns:a=\"urn:a\" xmlns=\"urn:d\" x=\"1\" a:y=\"2\"><child>t &amp; u</child><a:other/></a:root>")
        #expect(root.name == XMLName("urn:a", "root"))
        #expect(root.prefix == "a")
        #expect(root.attribute("x") == "1")
        #expect(root.attribute("y", namespace: "urn:a") == "2")
        #expect(root.childElements.map(\.name) == [XMLName("urn:d", "child"), XMLName("urn:a", "other")])
        #expect(root.childElements[0].text == "t & u")
    }

    @Test(arguments: [
        "<a><b></a>",
        "<a x=\"1\" x=\"2\"/>",
        "<p:a/>",
        "<a/><b/>",
        "<a/>trailing",
        "<a>&undefined;</a>",
        "",
        "not xml",
    ])
    func malformedDocumentsAreRejected(_ text: String) {
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse(text) }
    }

    @Test func dtdsAndEntitiesAreRefused() {
        let billionLaughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>"
        #expect(throws: XMLError(.doctypeForbidden, "XML document with a DOCTYPE or ENTITY declaration is not accepted")) {
            try XMLDocumentParser.parse(billionLaughs)
        }
        let external = "<?xml version=\"1.0\"?><!doctype x SYSTEM \"file:///etc/passwd\"><x/>"
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse(external) }
    }

    @Test func onlyUTF8IsParsedSoNoDTDHidesInAnotherEncoding() throws {
        let billionLaughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>"
        // UTF-16 with and without its byte-order mark: the ASCII scan for DOCTYPE sees NULs between the letters.
        let units = Array(billionLaughs.utf16)
        let littleEndian: [UInt8] = [0xFF, 0xFE] + units.flatMap { (unit: UInt16) -> [UInt8] in [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let bigEndian: [UInt8] = units.flatMap { (unit: UInt16) -> [UInt8] in [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        for bytes in [littleEndian, bigEndian] {
            #expect(throws: XMLError(.notUTF8, "XML document is not UTF-8 (it contains NUL bytes)")) { try XMLDocumentParser.parse(bytes) }
        }
        // UTF-7 spells `<` as `+ADw-`; EBCDIC is not UTF-8 at all.
        let utf7 = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE x+AD4-<x/>"
        #expect(throws: XMLError(.notUTF8, "XML document declares encoding 'UTF-7'; only UTF-8 is accepted")) { try XMLDocumentParser.parse(utf7) }
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse("<?xml version='1.0' encoding = 'ISO-8859-1'?><x/>") }
        let ebcdic: [UInt8] = [0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40, 0xA5, 0x85, 0x99, 0xA2, 0x89, 0x96, 0x95, 0x6F, 0x6E]
        #expect(throws: XMLError(.notUTF8, "XML document is not valid UTF-8")) { try XMLDocumentParser.parse(ebcdic) }
        // UTF-8, declared or not, with or without its byte-order mark, is parsed.
        #expect(try XMLDocumentParser.parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?><x/>").name.local == "x")
        #expect(try XMLDocumentParser.parse([0xEF, 0xBB, 0xBF] + Array("<?xml version='1.0' encoding='utf8'?><x>é</x>".utf8)).name.local == "x")
    }

    @Test func limitsAreEnforced() {
        let deep = String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse(deep, limits: XMLLimits(maxDepth: 32)) }
        let big = "<a>" + String(repeating: "x", count: 2000) + "</a>"
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse(big, limits: XMLLimits(maxBytes: 1000)) }
        let many = "<a>" + String(repeating: "<b/>", count: 50) + "</a>"
        #expect(throws: XMLError.self) { try XMLDocumentParser.parse(many, limits: XMLLimits(maxElements: 20)) }
    }

    @Test func serializationIsDeterministicAndRoundTrips() throws {
        let text = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:op=\"urn:oma:xml:prs:pidf:oma-pres\" entity=\"sip:a@b\"><tuple id=\"t1\"><status><basic>open</basic></status><op:service-description><op:service-id>x &lt; y</op:service-id></op:service-description></tuple></presence>"
        let parsed = try XMLDocumentParser.parse(text)
        let once = XMLSerializer.serialize(parsed)
        let twice = XMLSerializer.serialize(try XMLDocumentParser.parse(once))
        #expect(once == twice)
        #expect(once.contains("<op:service-id>x &lt; y</op:service-id>"))
        #expect(try XMLDocumentParser.parse(once) == parsed)
    }

    @Test func elementsMovedOutOfTheirDeclaringParentStayCorrect() throws {
        let parsed = try XMLDocumentParser.parse("<r xmlns:q=\"urn:q\"><q:item q:attr=\"v\"/></r>")
        let moved = XMLElement(XMLName("urn:other", "wrapper"), children: [.element(parsed.childElements[0])])
        let reparsed = try XMLDocumentParser.parse(XMLSerializer.serialize(moved))
        #expect(reparsed.childElements[0].name == XMLName("urn:q", "item"))
        #expect(reparsed.childElements[0].attribute("attr", namespace: "urn:q") == "v")
    }

    /// Escaping works on the characters XML gives meaning to, whatever follows them: a quote
    /// followed by a combining mark is still a quote that would end the attribute.
    @Test func specialCharactersAreEscapedEvenWhenACombiningMarkFollows() throws {
        let element = XMLElement(XMLName("", "note"), attributes: [XMLAttribute(XMLName("", "title"), "a\"\u{301} b=\"c")], children: [.text("1 <\u{301} 2 & \r")])
        let text = XMLSerializer.serialize(element, declaration: false)
        #expect(text == "<note title=\"a&quot;\u{301} b=&quot;c\">1 &lt;\u{301} 2 &amp; &#13;</note>")
        #expect(try XMLDocumentParser.parse(text) == element)
        #expect(XMLSerializer.serializedBytes(element, declaration: false) == Array(text.utf8))
    }

    /// Of two prefixes bound to one namespace, a name without its own usable prefix takes the
    /// innermost one still bound to it, the same every time.
    @Test func theInnermostPrefixBoundToANamespaceIsChosen() throws {
        let parsed = try XMLDocumentParser.parse("<r xmlns=\"urn:r\" xmlns:a=\"urn:q\"><s xmlns:b=\"urn:q\"><t xmlns:a=\"urn:other\"/></s></r>")
        var tree = parsed
        guard case .element(var s) = tree.children[0], case .element(var t) = s.children[0] else { Issue.record("shape"); return }
        t.children = [.element(XMLElement(XMLName("urn:q", "item")))]
        s.children = [.element(t)]
        tree.children = [.element(s)]
        let text = XMLSerializer.serialize(tree, declaration: false)
        #expect(text.contains("<b:item/>"))
        let reparsed = try XMLDocumentParser.parse(text)
        #expect(reparsed.childElements[0].childElements[0].childElements[0].name == XMLName("urn:q", "item"))
    }
}

