import Foundation
import HeraldLoadKit
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
}
