import Testing
@testable import SIPCore

@Suite struct URIGrammarTests {
    @Test(arguments: [
        "sip:alice@atlanta.com",
        "sip:alice:secretword@atlanta.com;transport=tcp",
        "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sips:1212@gateway.com",
        "sip:alice@192.0.2.4",
        "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
        "sip:alice;day=tuesday@atlanta.com",
        "sip:[2001:db8::10]:5070;transport=tcp",
        "tel:+1-201-555-0123",
    ])
    func rfc3261Section19ExamplesRoundTrip(_ text: String) throws {
        #expect(try SIPURI(parsing: text).description == text)
    }

    @Test func schemeAndHostAreCaseInsensitiveButUserIsNot() throws {
        // RFC 3261 §19.1.4 equivalent pairs.
        let pairs: [(String, String, Bool)] = [
            ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true),
            ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5", true),
            ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
             "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true),
            ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false),
            ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;newparam=6", false),
        ]
        for (left, right, equal) in pairs {
            #expect(try SIPURI(parsing: left).isEquivalent(to: SIPURI(parsing: right)) == equal, "\(left) vs \(right)")
        }
    }

    @Test(arguments: ["sip:", "sip:user@", "sip:user@host:99999", "sip:us er@host", "sip:user@[2001:db8::10", "sip:2001:db8::10", "sip:user@host;=x", "sip:%zz@host"])
    func malformedURIsAreRejected(_ text: String) {
        #expect(throws: SIPParseError.self) { try SIPURI(parsing: text) }
    }

    @Test func ipv6Validation() {
        #expect(HostValidation.isIPv6(Array("2001:db8::10".utf8)[...]))
        #expect(HostValidation.isIPv6(Array("::1".utf8)[...]))
        #expect(HostValidation.isIPv6(Array("::ffff:192.0.2.1".utf8)[...]))
        #expect(HostValidation.isIPv6(Array("2001:db8:0:0:0:0:0:10".utf8)[...]))
        #expect(!HostValidation.isIPv6(Array("2001:db8::10::1".utf8)[...]))
        #expect(!HostValidation.isIPv6(Array("2001:db8:0:0:0:0:0:0:10".utf8)[...]))
        #expect(!HostValidation.isIPv6(Array("2001:zz8::1".utf8)[...]))
        #expect(!HostValidation.isIPv6(Array("".utf8)[...]))
    }

    @Test func addressOfRecordIgnoresPortParametersAndHostCase() throws {
        let uri = try SIPURI(parsing: "sips:Alice@Example.COM:5061;transport=tls")
        #expect(uri.addressOfRecord == "sip:Alice@example.com")
    }
}

@Suite struct HeaderGrammarTests {
    @Test func viaParametersAreTyped() throws {
        let via = try Via(parsing: "SIP/2.0/udp 192.0.2.1:5062;branch=z9hG4bK776;rport;received=192.0.2.200;ttl=16;maddr=224.2.0.1")
        #expect(via.transport == "UDP")
        #expect(via.port == 5062)
        #expect(via.branch == "z9hG4bK776")
        #expect(via.hasRPort)
        #expect(via.rport == nil)
        #expect(via.received == "192.0.2.200")
        #expect(via.ttl == 16)
        #expect(via.maddr == "224.2.0.1")
        #expect(via.hasRFC3261Branch)
        #expect(via.description == "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK776;rport;received=192.0.2.200;ttl=16;maddr=224.2.0.1")
    }

    @Test(arguments: ["SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host;;", "SIP/2.0/UDP host;received=notanip", "SIP/2.0/UDP host;rport=x", "SIP/2.0/UDP host:70000", "SIP/2.0/UDP host;ttl=300"])
    func malformedViasAreRejected(_ text: String) {
        #expect(throws: SIPParseError.self) { try Via(parsing: text) }
    }

    @Test func nameAddressForms() throws {
        let quoted = try NameAddress(parsing: "\"A \\\"quoted\\\" name\" <sip:a@b.example>;tag=x1")
        #expect(quoted.displayName == "\"A \\\"quoted\\\" name\"")
        #expect(quoted.tag == "x1")
        let tokens = try NameAddress(parsing: "Bob Smith<sip:bob@b.example>")
        #expect(tokens.displayName == "Bob Smith")
        let spec = try NameAddress(parsing: "sip:c@c.example;tag=5;expires=60")
        #expect(spec.uri.parameters.isEmpty)
        #expect(spec.parameters.count == 2)
        #expect(throws: SIPParseError.self) { try NameAddress(parsing: "\"unterminated <sip:a@b>") }
        #expect(throws: SIPParseError.self) { try NameAddress(parsing: "Bell, Alexander <sip:a@b>") }
        #expect(throws: SIPParseError.self) { try NameAddress(parsing: "sip:a@b?x=y") }
    }

    @Test func cseqBoundaries() throws {
        #expect(try CSeq(bytes: Array("4294967295 INVITE".utf8)).sequenceNumber == UInt32.max)
        #expect(throws: SIPParseError.self) { try CSeq(bytes: Array("4294967296 INVITE".utf8)) }
        #expect(throws: SIPParseError.self) { try CSeq(bytes: Array("INVITE".utf8)) }
        #expect(throws: SIPParseError.self) { try CSeq(bytes: Array("1INVITE".utf8)) }
    }

    @Test func listHeadersSplitAcrossLinesAndCommas() throws {
        let bytes = Array("OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2\r\nv: SIP/2.0/TCP c.example;branch=z9hG4bK3\r\nContact: \"x, y\" <sip:a@b>, <sip:c,x@d;p=1>\r\n\r\n".utf8)
        guard case .request(let request) = try SIPMessageParser.parse(bytes) else { return }
        #expect(try request.vias().map(\.host) == ["a.example", "b.example", "c.example"])
        guard case .addresses(let contacts) = try request.contacts() else { return }
        #expect(contacts.count == 2)
    }
}

@Suite struct SerializerTests {
    static let notify = Array("""
        NOTIFY sip:192.168.1.1:5060;transport=udp SIP/2.0\r
        Via: SIP/2.0/UDP 192.168.1.2:51417;branch=z9hG4bKb7a8;\r
           rport;transport=udp\r
        Max-Forwards: 69\r
        From: <sip:presence@anritsu-rcs.com>;tag=9ab957\r
        To: <sip:+339012341234@anritsu-rcs.com>;tag=8Ih0yaUGAA\r
        X-Odd-Header  :   keep   this  exactly\r
        Event: presence\r
        Content-Type: application/pidf+xml\r
        Content-Length: 5\r
        CSeq: 1 NOTIFY\r
        Call-ID: 8Ih0yaUFAA@192.168.1.1\r
        \r
        hello
        """.utf8)

    @Test func aReasonPhraseCannotEndItsLine() throws {
        // A reason quoting a request's text (RFC 3261 §25.1 allows no CR, LF or other controls).
        let response = SIPResponse(statusCode: 400, reasonPhrase: "Bad Request: tuple id 'x\r\nX-Injected: 1\u{0}' twice\ttoo")
        let bytes = SIPSerializer.serialize(response)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("SIP/2.0 400 Bad Request: tuple id 'x  X-Injected: 1 ' twice\ttoo\r\n"))
        guard case .response(let parsed) = try SIPMessageParser.parse(bytes) else {
            Issue.record("not a response")
            return
        }
        #expect(parsed.headers["X-Injected"] == nil)
    }

    @Test func unchangedMessageSerializesByteForByte() throws {
        let message = try SIPMessageParser.parse(Self.notify)
        #expect(SIPSerializer.serialize(message) == Self.notify)
    }

    @Test func addedHeadersAreWrittenAfterTheOriginalOnes() throws {
        guard case .request(var request) = try SIPMessageParser.parse(Self.notify) else { return }
        request.headers.prepend("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnew")
        request.headers.set("Max-Forwards", "68")
        let bytes = SIPSerializer.serialize(request)
        guard case .request(let reparsed) = try SIPMessageParser.parse(bytes) else { return }
        #expect(try reparsed.vias().count == 2)
        #expect(try reparsed.topVia().branch == "z9hG4bKnew")
        #expect(try reparsed.maxForwards() == 68)
        #expect(reparsed.headers["x-odd-header"] == "keep   this  exactly")
        #expect(String(decoding: bytes, as: UTF8.self).contains("X-Odd-Header  :   keep   this  exactly\r\n"))
        #expect(Array(reparsed.body) == Array("hello".utf8))
    }

    @Test func responseAnsweringCopiesTheRequestHeaders() throws {
        guard case .request(let request) = try SIPMessageParser.parse(Self.notify) else { return }
        let response = SIPResponse(answering: request, statusCode: 200, toTag: "ignored")
        let text = String(decoding: SIPSerializer.serialize(response), as: UTF8.self)
        #expect(text.hasPrefix("SIP/2.0 200 OK\r\n"))
        #expect(text.contains("To: <sip:+339012341234@anritsu-rcs.com>;tag=8Ih0yaUGAA\r\n"))
        #expect(text.contains("Content-Length: 0\r\n\r\n"))
        #expect(!text.contains("Event:"))
    }
}
