import Testing
@testable import SIPCore
import SIPTesting

/// What the message core must make of each RFC 4475 / RFC 5118 message
/// (`../shared/torture/manifest.csv`): parse and validate cleanly, or fail with the status the
/// server answers with, or be a response (valid or to be discarded).
enum CoreOutcome: Sendable, Equatable {
    case validRequest
    case invalidRequest(status: Int)
    case validResponse
    case invalidResponse
}

struct TortureCase: Sendable, CustomTestStringConvertible {
    let file: String
    let outcome: CoreOutcome
    var testDescription: String { self.file }
}

let tortureCases: [TortureCase] = [
    // RFC 4475 §3.1.1: valid messages, however odd.
    TortureCase(file: "rfc4475/wsinv.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/intmeth.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/esc01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/escnull.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/esc02.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/lwsdisp.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/longreq.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/dblreq.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/semiuri.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/transports.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/mpart01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/unreason.dat", outcome: .validResponse),
    TortureCase(file: "rfc4475/noreason.dat", outcome: .validResponse),
    // RFC 4475 §3.1.2: invalid messages.
    TortureCase(file: "rfc4475/badinv01.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/clerr.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/ncl.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/scalar02.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/scalarlg.dat", outcome: .invalidResponse),
    TortureCase(file: "rfc4475/quotbal.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/ltgtruri.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/lwsruri.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/lwsstart.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/trws.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/escruri.dat", outcome: .invalidRequest(status: 400)),
    // §3.1.2.12 allows ignoring a bad Date; Herald does not interpret Date.
    TortureCase(file: "rfc4475/baddate.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/regbadct.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/badaspec.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/baddn.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/badvers.dat", outcome: .invalidRequest(status: 505)),
    TortureCase(file: "rfc4475/mismatch01.dat", outcome: .invalidRequest(status: 400)),
    // An extension method skips the CSeq check so that the server can answer 501.
    TortureCase(file: "rfc4475/mismatch02.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/bigcode.dat", outcome: .invalidResponse),
    // RFC 4475 §3.2-3.4: valid syntax; the transaction layer and server policy decide.
    TortureCase(file: "rfc4475/badbranch.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/insuf.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/unkscm.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/novelsc.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/unksm2.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/bext01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/invut.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/regaut01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/multi01.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/mcl01.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc4475/bcast.dat", outcome: .validResponse),
    TortureCase(file: "rfc4475/zeromf.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/cparam01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/cparam02.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/regescrt.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/sdp01.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/inv2543.dat", outcome: .validRequest),
    TortureCase(file: "rfc4475/test.dat", outcome: .invalidRequest(status: 400)),
    // RFC 5118.
    TortureCase(file: "rfc5118/ipv6-good.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/ipv6-bad.dat", outcome: .invalidRequest(status: 400)),
    TortureCase(file: "rfc5118/port-ambiguous.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/port-unambiguous.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/via-received-param-with-delim.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/via-received-param-no-delim.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/ipv6-in-sdp.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/mult-ip-in-header.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/mult-ip-in-sdp.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/ipv4-mapped-ipv6.dat", outcome: .validRequest),
    // Policy: tolerated, as RFC 5118 §4.10 asks of receivers.
    TortureCase(file: "rfc5118/ipv6-bug-abnf-3-colons.dat", outcome: .validRequest),
    TortureCase(file: "rfc5118/ipv6-correct-abnf-2-colons.dat", outcome: .validRequest),
]

/// Parses and validates a message the way the server does on arrival.
func coreOutcome(_ bytes: [UInt8]) -> (CoreOutcome, String?) {
    do {
        switch try SIPMessageParser.parse(bytes) {
        case .request(let request):
            do {
                _ = try request.validate()
                return (.validRequest, nil)
            } catch {
                return (.invalidRequest(status: error.statusCode), error.reason)
            }
        case .response(let response):
            do {
                try response.validate()
                return (.validResponse, nil)
            } catch {
                return (.invalidResponse, error.reason)
            }
        }
    } catch {
        if error.isResponse { return (.invalidResponse, error.error.reason) }
        return (.invalidRequest(status: error.error.statusCode), error.error.reason)
    }
}

@Suite struct TortureCorpusTests {
    @Test func tableCoversEveryManifestRow() throws {
        let manifest = try TortureCorpus.manifestFiles()
        #expect(manifest.count == 62)
        #expect(Set(manifest) == Set(tortureCases.map(\.file)))
    }

    @Test(arguments: tortureCases)
    func messageIsHandledAsTheManifestSays(_ torture: TortureCase) throws {
        let bytes = try TortureCorpus.load(torture.file)
        let (outcome, reason) = coreOutcome(bytes)
        #expect(outcome == torture.outcome, "\(torture.file): \(reason ?? "accepted")")
        if case .invalidRequest(status: 400) = outcome {
            // The reason phrase names the problem (issue: "400 with a reason naming the problem").
            #expect((reason ?? "").count > "Bad Request".count)
        }
    }
}

@Suite struct TopViaBranchTests {
    private func response(_ via: String) throws -> SIPResponse {
        let text = "SIP/2.0 200 OK\r\n\(via)\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n"
        guard case .response(let response) = try SIPMessageParser.parse(Array(text.utf8)) else { throw SIPParseError(.malformedStartLine, "no") }
        return response
    }

    @Test func readsTheTopmostBranchWhateverTheSpelling() throws {
        #expect(try response("Via: SIP/2.0/UDP h:5060;rport=1;branch=z9hG4bKa1;received=192.0.2.1").topViaBranch() == "z9hG4bKa1")
        #expect(try response("v: SIP/2.0/UDP h;BRANCH = z9hG4bKa2 ;x=1").topViaBranch() == "z9hG4bKa2")
        #expect(try response("Via: SIP/2.0/UDP h;x=\"a,b;branch=no\";branch=z9hG4bKa3").topViaBranch() == "z9hG4bKa3")
        #expect(try response("Via: SIP/2.0/UDP h;branch=z9hG4bKtop, SIP/2.0/UDP k;branch=z9hG4bKnext").topViaBranch() == "z9hG4bKtop")
        #expect(try response("Via: SIP/2.0/UDP h;branches=1;branch=z9hG4bKa4").topViaBranch() == "z9hG4bKa4")
        #expect(try response("Via: SIP/2.0/UDP h;x=\"a\\\";branch=no,\";branch=z9hG4bKa5").topViaBranch() == "z9hG4bKa5")
    }

    @Test func noBranchInTheTopmostViaIsNil() throws {
        #expect(try response("Via: SIP/2.0/UDP h;rport, SIP/2.0/UDP k;branch=z9hG4bKnext").topViaBranch() == nil)
        #expect(try response("Via: SIP/2.0/UDP h;branch=").topViaBranch() == nil)
        #expect(try response("Via: SIP/2.0/UDP h;branch").topViaBranch() == nil)
    }

    /// Over the torture corpus: wherever the full Via parser reads a branch, the byte scan
    /// reads the same one.
    @Test(arguments: tortureCases)
    func agreesWithTheViaParser(_ torture: TortureCase) throws {
        guard case .request(let request)? = try? SIPMessageParser.parse(try TortureCorpus.load(torture.file)),
            let branch = try? request.topVia().branch
        else { return }
        #expect(request.topViaBranch() == branch, "\(torture.file)")
    }
}
