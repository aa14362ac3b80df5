import Foundation
@testable import HeraldLoadKit
import SIPCore
import Testing

@Suite struct OpenLoopPacerTests {
    @Test func sendsAreDueAtTheRateWhateverTheTickTiming() {
        var pacer = OpenLoopPacer(startNanoseconds: 1_000, ratePerSecond: 1_000)
        #expect(pacer.due(now: 500) == 0)
        #expect(pacer.due(now: 1_000) == 1)
        // A tick 10 ms late gets all ten sends that fell due meanwhile (no coordinated omission).
        #expect(pacer.due(now: 1_000 + 10_000_000) == 10)
        #expect(pacer.due(now: 1_000 + 10_500_000) == 0)
        #expect(pacer.sent == 11)
        // Latency is measured from when a send was due, not when it happened.
        #expect(pacer.dueTime(of: 5) == 1_000 + 5_000_000)
    }

    @Test func oneSecondAtFiveThousandPerSecondIsFiveThousandSends() {
        var pacer = OpenLoopPacer(startNanoseconds: 0, ratePerSecond: 5_000)
        var total = 0
        var now: UInt64 = 0
        while now < 1_000_000_000 {
            total += pacer.due(now: now)
            now += 700_000 + UInt64(now % 3) * 100_000  // uneven ticks
        }
        #expect(total == 5_000 || total == 4_999)
    }
}

@Suite struct LatencyHistogramTests {
    @Test func percentilesOfAUniformSpread() throws {
        var histogram = LatencyHistogram()
        for microseconds in 1...10_000 { histogram.record(microseconds: Int64(microseconds)) }
        #expect(histogram.count == 10_000)
        let p50 = try #require(histogram.percentile(0.5))
        let p99 = try #require(histogram.percentile(0.99))
        #expect(abs(p50 - 5_000) <= 5)
        #expect(abs(p99 - 9_900) <= 10)
        #expect(histogram.percentile(1.0) == 10_000 || histogram.percentile(1.0) == 10_007)
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }
}

@Suite struct LoadSummaryTests {
    @Test func figuresTableAndJSON() throws {
        var summary = LoadSummary(scenario: "publish", durationSeconds: 2)
        summary.attempted = 200
        summary.completed = 190
        summary.failuresByStatus = [503: 6]
        summary.timeouts = 4
        summary.retransmissions = 7
        for ms in 1...100 { summary.latency.record(microseconds: Int64(ms) * 1_000) }
        let figures = summary.figures
        #expect(figures["attempted_per_s"] == 100)
        #expect(figures["completed_per_s"] == 95)
        #expect(figures["failures"] == 10)
        #expect(figures["failed_503"] == 6)
        #expect(figures["failure_ratio"] == 0.05)
        #expect(abs((figures["latency_p50_ms"] ?? 0) - 50) < 0.1)
        #expect(summary.table.contains("completed_per_s"))
        let json = try #require(try JSONSerialization.jsonObject(with: summary.json()) as? [String: Any])
        #expect(json["scenario"] as? String == "publish")
        #expect(json["retransmissions"] as? Double == 7)
        #expect(summary.progressLine(elapsed: 3, inFlight: 2) == "t=3s sent=200 ok=190 failed=10 retrans=7 in-flight=2")
    }
}

@Suite struct RetransmissionScheduleTests {
    @Test func udpDoublesFromT1ToT2AndGivesUpAfter64T1() {
        let schedule = RetransmissionSchedule(reliable: false)
        let sent: UInt64 = 0
        let resends = (1...5).compactMap { schedule.retransmitAt(sentAt: sent, attempt: $0) }
        #expect(resends == [500, 1_500, 3_500, 7_500, 11_500].map { UInt64($0) * 1_000_000 })
        #expect(schedule.timeoutAt(sentAt: sent) == 32_000_000_000)
        #expect(RetransmissionSchedule(reliable: true).retransmitAt(sentAt: 0, attempt: 1) == nil)
    }
}

@Suite struct DigestCredentialsTests {
    @Test func answersTheSHA256ChallengeWithQop() throws {
        let credentials = DigestCredentials(password: "secret")
        let challenges = [
            #"Digest realm="example.com", nonce="abc", opaque="o1", algorithm=SHA-256, qop="auth""#,
            #"Digest realm="example.com", nonce="abc", opaque="o1", algorithm=MD5, qop="auth""#,
        ]
        let value = try #require(credentials.authorization(
            challenges: challenges, username: "load-u1", method: "REGISTER", uri: "sip:example.com", cnonce: "c1"))
        #expect(value.hasPrefix(#"Digest username="load-u1", realm="example.com", nonce="abc", uri="sip:example.com""#))
        #expect(value.contains("algorithm=SHA-256"))
        #expect(value.contains("qop=auth, nc=00000001, cnonce=\"c1\""))
        #expect(value.contains(#"opaque="o1""#))
        #expect(credentials.authorization(challenges: ["Basic realm=x"], username: "u", method: "M", uri: "u", cnonce: "c") == nil)
    }

    @Test func answersA407WithProxyAuthorizationAndA401WithAuthorization() throws {
        func response(_ status: Int, _ header: String) throws -> SIPResponse {
            let text = "SIP/2.0 \(status) Challenge\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\n"
                + "Call-ID: c\r\nCSeq: 1 PUBLISH\r\n\(header): Digest realm=\"h\", nonce=\"n\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"
            guard case .response(let parsed) = try SIPMessageParser.parse(Array(text.utf8)) else { throw LoadError.invalid("not a response") }
            return parsed
        }
        let credentials = DigestCredentials(password: "pw")
        let proxy = credentials.authorizationLine(
            answering: try response(407, "Proxy-Authenticate"), username: "load-p0", method: "PUBLISH", uri: "sip:load-p0@h", cnonce: "c")
        #expect(proxy?.hasPrefix("Proxy-Authorization: Digest username=\"load-p0\", realm=\"h\"") == true)
        let server = credentials.authorizationLine(
            answering: try response(401, "WWW-Authenticate"), username: "u", method: "REGISTER", uri: "sip:h", cnonce: "c")
        #expect(server?.hasPrefix("Authorization: Digest ") == true)
        #expect(credentials.authorizationLine(answering: try response(403, "Proxy-Authenticate"), username: "u", method: "M", uri: "u", cnonce: "c") == nil)
    }
}

@Suite struct RawAnswerTests {
    static let notify = Array(
        ("NOTIFY sip:w@127.0.0.1:5999 SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1;rport\r\n"
            + "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKn0\r\n"
            + "Max-Forwards: 70\r\n"
            + "From: <sip:alice@example.com>;tag=srv\r\n"
            + "To: \"Watcher\"\r\n <sip:w@example.com>;tag=w1\r\n"
            + "i:  sub-3-4 \r\n"
            + "CSeq: 7 NOTIFY\r\n"
            + "Event: presence\r\nSubscription-State: active;expires=3600\r\n"
            + "Content-Type: application/pidf+xml\r\nContent-Length: 18\r\n\r\n<note>ts-42</note>").utf8)

    @Test func copiesTheHeadersAResponseNeedsFromTheBytes() throws {
        let answer = try #require(RawAnswer.answering(Self.notify))
        #expect(String(decoding: answer.method, as: UTF8.self) == "NOTIFY")
        #expect(String(decoding: answer.callID, as: UTF8.self) == "sub-3-4")
        #expect(String(decoding: Self.notify[answer.bodyStart...], as: UTF8.self) == "<note>ts-42</note>")
        // The same answer the message-level API gives (RFC 3261 §8.2.6.2).
        guard case .response(let response) = try SIPMessageParser.parse(answer.response),
            case .request(let request) = try SIPMessageParser.parse(Self.notify)
        else {
            Issue.record("not a response to a request")
            return
        }
        let expected = SIPResponse(answering: request, statusCode: 200, toTag: nil)
        #expect(response.statusCode == 200)
        #expect(try response.headers.listValues(SIPHeaderName(.via)) == expected.headers.listValues(SIPHeaderName(.via)))
        #expect(response.callID == "sub-3-4")
        #expect(try response.cseq().sequenceNumber == 7 && expected.cseq().method == .notify && response.cseq().method == .notify)
        #expect(try response.from().tag == "srv")
        #expect(try response.to().tag == "w1")
        #expect(try response.to().displayName?.contains("Watcher") == true)
        #expect(response.body.isEmpty)
        let text = String(decoding: answer.response, as: UTF8.self)
        #expect(text.hasSuffix("Content-Length: 0\r\n\r\n"))
        #expect(!text.contains("Event:") && !text.contains("Max-Forwards"))
    }

    @Test func aToWithoutTagGetsOne() throws {
        let request = Array(
            "OPTIONS sip:w@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nFrom: <sip:a@h>;tag=1\nTo: <sip:w@h>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n".utf8)
        let answer = try #require(RawAnswer.answering(request, status: 486, reason: "Busy Here", toTag: "t9"))
        guard case .response(let response) = try SIPMessageParser.parse(answer.response) else {
            Issue.record("not a response")
            return
        }
        #expect(response.statusCode == 486)
        #expect(try response.to().tag == "t9")
    }

    @Test func findsTheToTagOnlyAmongTheHeaderParameters() {
        func field(_ text: String) -> ArraySlice<UInt8> { ArraySlice(Array(text.utf8)) }
        #expect(RawAnswer.containsTag(field("To: <sip:w@h>;tag=1")))
        #expect(RawAnswer.containsTag(field("t: sip:w@h ; TAG = 1")))
        #expect(RawAnswer.containsTag(field("To: \"x\" <sip:w@h>;foo=bar;tag=1")))
        // Not a tag: inside a quoted display name, inside the URI, or another parameter.
        #expect(!RawAnswer.containsTag(field("To: \"a;tag=b\" <sip:w@h>")))
        #expect(!RawAnswer.containsTag(field("To: \"a\\\";tag=b\" <sip:w@h>")))
        #expect(!RawAnswer.containsTag(field("To: <sip:w@h;tag=x>")))
        #expect(!RawAnswer.containsTag(field("To: <sip:w@h>;tags=1;xtag=2")))
        #expect(!RawAnswer.containsTag(field("To: sip:w@h")))
    }

    @Test func headersAreMatchedByTheirWholeName() throws {
        // `Toad` is not To, `Call-Info` is not Call-ID: a request with only those lacks both.
        let request = Array(
            "NOTIFY sip:w@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@h>;tag=1\r\nToad: <sip:w@h>\r\nCall-Info: <http://h>\r\nCSeq: 1 NOTIFY\r\n\r\n".utf8)
        #expect(RawAnswer.answering(request) == nil)
        let fixed = String(decoding: request, as: UTF8.self).replacingOccurrences(of: "Toad:", with: "t:")
            .replacingOccurrences(of: "Call-Info: <http://h>", with: "i: c1")
        let answer = try #require(RawAnswer.answering(Array(fixed.utf8)))
        let text = String(decoding: answer.response, as: UTF8.self)
        #expect(text.contains("t: <sip:w@h>;tag=load\r\n"))
        #expect(!text.contains("Toad") && !text.contains("Call-Info"))
    }

    @Test func refusesWhatItCannotAnswer() {
        let response = Array("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: 1 NOTIFY\r\n\r\n".utf8)
        #expect(RawAnswer.answering(response) == nil)
        let withoutCSeq = String(decoding: Self.notify, as: UTF8.self).replacingOccurrences(of: "CSeq: 7 NOTIFY\r\n", with: "")
        #expect(RawAnswer.answering(Array(withoutCSeq.utf8)) == nil)
        // A header section cut short (no empty line) is not answered.
        #expect(RawAnswer.answering(Array(Self.notify.prefix(200))) == nil)
        #expect(RawAnswer.answering(Array("garbage".utf8)) == nil)
    }
}
