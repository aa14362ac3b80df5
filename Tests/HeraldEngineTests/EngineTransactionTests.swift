import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Testing

@Suite struct EngineTransactionTests {
    @Test func optionsToTheServerGets200WithCapabilitiesRoutedByRport() async throws {
        let harness = EngineHarness()
        await harness.send(request("OPTIONS", "sip:example.com"))
        let sent = try #require(harness.sink.sent.first)
        let response = try #require(sent.response)
        #expect(response.statusCode == 200)
        #expect(response.headers["Allow"]?.contains("REGISTER") == true)
        #expect(response.headers["Supported"] != nil)
        #expect(response.headers["Accept"] != nil)
        #expect(try response.topVia().rport == 5060)
        #expect(try response.topVia().received == "192.0.2.10")
        #expect(sent.destination.address == EngineHarness.client)
        #expect(try response.to().tag != nil)
    }

    @Test func retransmittedRequestGetsTheSameResponseUntilTimerJ() async throws {
        let harness = EngineHarness()
        await harness.send(request("OPTIONS", "sip:example.com"))
        await harness.send(request("OPTIONS", "sip:example.com"))
        #expect(harness.sink.sent.count == 2)
        #expect(harness.sink.sent[0].bytes == harness.sink.sent[1].bytes)
        // RFC 3261 §17.2.2: the answer is kept for Timer J (64*T1 on UDP); after it the same
        // request is a new one.
        await harness.advance(by: .seconds(33))
        await harness.send(request("OPTIONS", "sip:example.com"))
        #expect(try harness.sink.responses[2].to().tag != harness.sink.responses[0].to().tag)
    }

    @Test func retransmissionsAreAnsweredFromTheCompletedCacheUntilTimerJ() async throws {
        let harness = EngineHarness()
        await harness.send(request("OPTIONS", "sip:example.com"))
        // The transaction object ended with its answer; the answer itself is kept.
        #expect(try await harness.transactionCount() == 0)
        await harness.advance(by: .seconds(2))
        await harness.send(request("OPTIONS", "sip:example.com"))
        #expect(harness.sink.sent.count == 2)
        #expect(harness.sink.sent[1].bytes == harness.sink.sent[0].bytes)
        await harness.advance(by: .seconds(28))
        await harness.send(request("OPTIONS", "sip:example.com"))
        #expect(harness.sink.sent[2].bytes == harness.sink.sent[0].bytes)
        // After Timer J (32 s) the same request is a new one.
        await harness.advance(by: .seconds(3))
        await harness.send(request("OPTIONS", "sip:example.com"))
        #expect(try harness.sink.responses[3].to().tag != harness.sink.responses[0].to().tag)
    }

    @Test func reliableTransportsEndNonInviteTransactionsAtOnce() async throws {
        let harness = EngineHarness()
        await harness.send(request("OPTIONS", "sip:example.com").replacingOccurrences(of: "UDP", with: "TCP"), transport: .tcp)
        #expect(harness.statuses == [200])
        #expect(try await harness.transactionCount() == 0)
    }

    @Test func inviteFailureIsRetransmittedUntilAcked() async throws {
        let harness = EngineHarness()
        await harness.send(request("INVITE", "sip:nobody@example.com"))
        #expect(harness.statuses == [100, 404])
        // Timer G: the final response is retransmitted after T1, then 2*T1.
        await harness.advance(by: .milliseconds(500))
        #expect(harness.statuses == [100, 404, 404])
        await harness.advance(by: .milliseconds(1000))
        #expect(harness.statuses == [100, 404, 404, 404])
        let toTag = try #require(try harness.sink.responses[1].to().tag)
        await harness.send(request("ACK", "sip:nobody@example.com", toTag: toTag).replacingOccurrences(of: "CSeq: 1 ACK", with: "CSeq: 1 ACK"))
        await harness.advance(by: .seconds(10))
        #expect(harness.statuses.count == 4)
        // Timer I (T4) has ended the transaction.
        #expect(try await harness.transactionCount() == 0)
    }

    @Test func unacknowledgedInviteFailureStopsAtTimerH() async throws {
        let harness = EngineHarness()
        await harness.send(request("INVITE", "sip:nobody@example.com"))
        for _ in 0..<40 { await harness.advance(by: .seconds(1)) }
        let retransmissions = harness.statuses.filter { $0 == 404 }.count
        // 0.5, 1.5, 3.5, 7.5, then every 4 s until 32 s: 1 + 10 sends.
        #expect(retransmissions == 11)
        #expect(try await harness.transactionCount() == 0)
    }

    @Test func cancelWithoutMatchingInviteIs481() async throws {
        let harness = EngineHarness()
        await harness.send(request("CANCEL", "sip:bob@example.com", branch: "z9hG4bKnone"))
        #expect(harness.statuses == [481])
    }

    @Test func cancelOfAnAnsweredInviteIs200AndChangesNothing() async throws {
        let harness = EngineHarness()
        await harness.send(request("INVITE", "sip:nobody@example.com"))
        await harness.send(request("CANCEL", "sip:nobody@example.com"))
        #expect(harness.statuses == [100, 404, 200])
    }

    @Test func mergedRequestIsRejectedWith482() async throws {
        let harness = EngineHarness()
        let contact = ["Contact: <sip:alice@192.0.2.10>"]
        let first = request("REGISTER", "sip:example.com", branch: "z9hG4bKpath1", extra: contact)
        let second = request("REGISTER", "sip:example.com", branch: "z9hG4bKpath2", extra: contact)
        // Both copies arrive before the first is answered (RFC 3261 §8.2.2.2).
        harness.engine.receive(InboundPacket(bytes: Array(first.utf8), transport: .udp, source: EngineHarness.client, connection: nil, local: nil))
        harness.engine.receive(InboundPacket(bytes: Array(second.utf8), transport: .udp, source: EngineHarness.client, connection: nil, local: nil))
        await harness.settle()
        #expect(harness.statuses.sorted() == [200, 482])
    }

    @Test func unknownMethodIs501AndMalformedRequestIs400NamingTheProblem() async throws {
        let harness = EngineHarness()
        await harness.send(request("FOO", "sip:example.com"))
        await harness.send(request("OPTIONS", "sip:example.com", branch: "z9hG4bKb2").replacingOccurrences(of: "CSeq: 1 OPTIONS", with: "CSeq: 1 INVITE"))
        await harness.send(request("OPTIONS", "sip:example.com", branch: "z9hG4bKb3").replacingOccurrences(of: "sip:example.com SIP/2.0", with: "sip:example.com SIP/3.0"))
        let responses = harness.sink.responses
        #expect(responses.map(\.statusCode) == [501, 400, 505])
        #expect(responses[0].headers["Allow"] != nil)
        #expect(responses[1].reasonPhrase == "CSeq method does not match the request method")
    }

    @Test func malformedAckAndStrayResponsesAreNotAnswered() async throws {
        let harness = EngineHarness()
        await harness.send(request("ACK", "sip:example.com").replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: \"broken <sip:a@b>"))
        await harness.send("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        await harness.send("garbage that is not SIP at all\r\n\r\n")
        #expect(harness.sink.sent.isEmpty)
        #expect(try await harness.loop.submit { harness.engine.statistics.malformedMessages }.get() == 2)
    }

    @Test func transportFailureEndsTheTransaction() async throws {
        let harness = EngineHarness()
        harness.sink.failSends(with: ChannelError.ioOnClosedChannel)
        await harness.send(request("OPTIONS", "sip:example.com").replacingOccurrences(of: "UDP", with: "TCP"), transport: .tcp)
        await harness.settle()
        #expect(try await harness.transactionCount() == 0)
    }
}
