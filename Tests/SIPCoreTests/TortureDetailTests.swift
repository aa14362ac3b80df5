import Testing
@testable import SIPCore
import SIPTesting

/// Field-level checks on torture messages whose point is a particular parsing rule.
@Suite struct TortureDetailTests {
    func request(_ file: String) throws -> SIPRequest {
        guard case .request(let request) = try SIPMessageParser.parse(try TortureCorpus.load(file)) else {
            Issue.record("\(file) is not a request")
            throw SIPParseError(.malformedStartLine, "not a request")
        }
        return request
    }

    @Test func shortTortuousInviteUnfoldsEveryHeader() throws {
        let request = try self.request("rfc4475/wsinv.dat")
        let essentials = try request.validate()
        #expect(essentials.to.tag == "1918181833n")
        #expect(essentials.from.tag == "98asjd8")
        #expect(essentials.from.displayName == "\"J Rosenberg \\\\\\\"\"")
        #expect(essentials.cseq == CSeq(9, .invite))
        #expect(essentials.maxForwards == 68)
        #expect(essentials.vias.count == 3)
        #expect(essentials.vias[1].transport == "TCP")
        #expect(essentials.vias[1].host == "spindle.example.com")
        #expect(essentials.vias[2].branch == "z9hG4bK30239")
        guard case .addresses(let contacts) = try request.contacts() else {
            Issue.record("no contacts")
            return
        }
        #expect(contacts[0].parameters.value(of: "newparam") == .some("newvalue"))
        #expect(contacts[0].parameters.value(of: "q") == .some("0.33"))
        #expect(request.headers["NewFangledHeader"] == "newfangled value continued newfangled value")
        #expect(request.headers["UnknownHeaderWithUnusualValue"] == ";;,,;;,;")
        #expect(request.body.count == 150)
    }

    @Test func wideRangeOfValidCharactersKeepsMethodAndUserinfo() throws {
        let request = try self.request("rfc4475/intmeth.dat")
        #expect(request.method.rawValue == "!interesting-Method0123456789_*+`.%indeed'~")
        #expect(!request.method.isKnown)
        let uri = try request.requestURI()
        #expect(uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.host == "example.com")
    }

    @Test func escapedUserPartsCompareUnescaped() throws {
        let uri = try self.request("rfc4475/esc01.dat").requestURI()
        #expect(uri.unescapedUser == "sips:user@example.com")
        #expect(uri.host == "example.net")
        let method = try self.request("rfc4475/esc02.dat").method
        #expect(method.rawValue == "RE%47IST%45R")
        #expect(method != .register)
    }

    @Test func escapedNullsAreDistinctContacts() throws {
        let request = try self.request("rfc4475/escnull.dat")
        guard case .addresses(let contacts) = try request.contacts() else {
            Issue.record("no contacts")
            return
        }
        #expect(contacts.count == 2)
        #expect(contacts[0].uri.unescapedUser == "\u{0}")
        #expect(contacts[1].uri.unescapedUser == "\u{0}\u{0}")
        #expect(!contacts[0].uri.isEquivalent(to: contacts[1].uri))
        #expect(try request.to().uri.unescapedUser == "null-\u{0}-null")
    }

    @Test func trailingOctetsInADatagramAreIgnored() throws {
        let request = try self.request("rfc4475/dblreq.dat")
        #expect(request.method == .register)
        #expect(request.body.isEmpty)
    }

    @Test func semicolonInUserPartBelongsToTheUser() throws {
        let uri = try self.request("rfc4475/semiuri.dat").requestURI()
        #expect(uri.user == "user;par=u%40example.net")
        #expect(uri.unescapedUser == "user;par=u@example.net")
        #expect(uri.parameters.isEmpty)
    }

    @Test func contactParameterVersusURIParameter() throws {
        guard case .addresses(let first) = try self.request("rfc4475/cparam01.dat").contacts(),
            case .addresses(let second) = try self.request("rfc4475/cparam02.dat").contacts()
        else {
            Issue.record("no contacts")
            return
        }
        #expect(first[0].parameters.contains("unknownparam"))
        #expect(first[0].uri.parameters.isEmpty)
        #expect(second[0].uri.parameters.contains("unknownparam"))
        #expect(second[0].parameters.isEmpty)
    }

    @Test func escapedHeaderInContactIsKeptVerbatim() throws {
        guard case .addresses(let contacts) = try self.request("rfc4475/regescrt.dat").contacts() else {
            Issue.record("no contacts")
            return
        }
        #expect(contacts[0].uri.description == "sip:user@example.com?Route=%3Csip:sip.example.com%3E")
    }

    @Test func multipartBodyKeepsBinaryPart() throws {
        let request = try self.request("rfc4475/mpart01.dat")
        let essentials = try request.validate()
        let contentType = try #require(essentials.contentType)
        let multipart = try MultipartBody(parsing: request.body, contentType: contentType)
        #expect(multipart.parts.count == 2)
        #expect(multipart.parts[0].contentType?.essence == "text/plain")
        #expect(multipart.parts[1].contentType?.essence == "application/octet-stream")
        #expect(multipart.parts[1].body.contains(0))
    }

    @Test func ipv6ReferencesAndPorts() throws {
        let unambiguous = try self.request("rfc5118/port-unambiguous.dat").requestURI()
        #expect(unambiguous.host == "[2001:db8::10]")
        #expect(unambiguous.port == 5070)
        let ambiguous = try self.request("rfc5118/port-ambiguous.dat").requestURI()
        #expect(ambiguous.host == "[2001:db8::10:5070]")
        #expect(ambiguous.port == nil)
        let withDelimiters = try self.request("rfc5118/via-received-param-with-delim.dat").vias()
        #expect(withDelimiters[0].received == "[2001:db8::9:255]")
        let without = try self.request("rfc5118/via-received-param-no-delim.dat").vias()
        #expect(without[0].received == "2001:db8::9:255")
        let multiple = try self.request("rfc5118/mult-ip-in-header.dat").vias()
        #expect(multiple.count == 3)
    }

    @Test func rfc2543InviteParsesWithoutBranchOrMaxForwards() throws {
        let essentials = try self.request("rfc4475/inv2543.dat").validate()
        #expect(essentials.maxForwards == nil)
        #expect(!essentials.topVia.hasRFC3261Branch)
    }

    @Test func longValuesAreKept() throws {
        let request = try self.request("rfc4475/longreq.dat")
        let essentials = try request.validate()
        #expect(essentials.vias.count > 30)
        #expect((essentials.from.tag ?? "").count > 100)
        #expect(essentials.to.uri.port == 6000)
        #expect(essentials.callID.count > 100)
    }
}

@Suite struct MultipartWritingTests {
    @Test func aWrittenMultipartBodyReadsBackPartForPart() throws {
        let boundary = MultipartBody.randomBoundary()
        #expect(boundary.count == 32 && boundary.allSatisfy(\.isHexDigit))
        let rlmi = Array("<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:l@example.com\" version=\"0\" fullState=\"true\"/>".utf8)
        let pidf = Array("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:b@example.com\"/>\r\n".utf8)
        let body = MultipartBody(boundary: boundary, parts: [
            MultipartBody.Part(headers: SIPHeaders([("Content-Type", "application/rlmi+xml;charset=\"UTF-8\""), ("Content-ID", "<r@h>")]), body: rlmi),
            MultipartBody.Part(headers: SIPHeaders([("Content-Type", "application/pidf+xml"), ("Content-ID", "<b@h>")]), body: pidf),
        ])
        let bytes = body.serialized()
        #expect(String(decoding: bytes, as: UTF8.self).hasSuffix("\r\n--\(boundary)--\r\n"))
        let type = try MediaType(parsing: "multipart/related;type=\"application/rlmi+xml\";start=\"<r@h>\";boundary=\"\(boundary)\"")
        let parsed = try MultipartBody(parsing: bytes[...], contentType: type)
        #expect(parsed.parts.count == 2)
        #expect(parsed.parts.map(\.body) == [rlmi, pidf])
        #expect(parsed.parts.map { $0.headers["Content-ID"] } == ["<r@h>", "<b@h>"])
        #expect(parsed.parts[1].contentType?.subtype == "pidf+xml")
    }
}
