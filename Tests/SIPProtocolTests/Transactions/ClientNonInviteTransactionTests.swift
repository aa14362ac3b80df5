@testable import SIPProtocol
import Testing

/// Virtual time starts at a non-zero instant, so absolute and relative instants differ.
private let t0 = SIPInstant(nanoseconds: 1_000_000_000)

/// RFC 3261 §17.1.2 (Figure 6).
@Suite struct ClientNonInviteTransactionTests {
    @Test func startSendsTheRequestAndArmsTimerEAtT1AndTimerFAt64T1() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        let actions = tx.start(now: t0)
        let e = try #require(actions.timer(.e))
        let f = try #require(actions.timer(.f))
        #expect(actions == [
            .sendRequest,
            .scheduleTimer(e, at: t0 + .milliseconds(500)),
            .scheduleTimer(f, at: t0 + .seconds(32)),
        ])
        #expect(tx.state == .trying)
        #expect(tx.start(now: t0).isEmpty)
    }

    @Test func reliableTransportArmsOnlyTimerF() {
        var tx = ClientNonInviteTransaction(reliableTransport: true)
        let actions = tx.start(now: t0)
        #expect(actions.first == .sendRequest)
        #expect(actions.scheduledNames == [.f])
    }

    @Test func timerEDoublesUpToT2OnUnreliableTransportUntilTimerFTimesOut() {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        var wheel = VirtualTimers()
        wheel.record(tx.start(now: t0))
        var retransmissions: [Duration] = []
        while let fired = wheel.fireNext(into: &tx) {
            if fired.name == .e {
                #expect(fired.actions.first == .retransmitRequest)
                retransmissions.append(fired.at - t0)
            } else {
                #expect(fired.name == .f)
                #expect(fired.at == t0 + .seconds(32))
                #expect(fired.actions == [.notifyTimeout, .cancelTimer(.e), .terminate])
            }
        }
        let expected = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
            .map { Duration.milliseconds($0) }
        #expect(retransmissions == expected)
        #expect(tx.state == .terminated)
    }

    @Test func provisionalResponseMovesToProceedingAndTimerEThenUsesT2() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        let e1 = try #require(tx.start(now: t0).timer(.e))
        #expect(tx.responseReceived(statusCode: 100, now: t0 + .milliseconds(100)) == [.passResponseToTU])
        #expect(tx.state == .proceeding)
        let fired = tx.timerFired(e1, now: t0 + .milliseconds(500))
        let e2 = try #require(fired.timer(.e))
        #expect(fired == [.retransmitRequest, .scheduleTimer(e2, at: t0 + .milliseconds(4500))])
        let again = tx.timerFired(e2, now: t0 + .milliseconds(4500))
        #expect(again.deadline(.e) == t0 + .milliseconds(8500))
        #expect(tx.responseReceived(statusCode: 180, now: t0 + .seconds(5)) == [.passResponseToTU])
        #expect(tx.state == .proceeding)
    }

    @Test func timerFInProceedingNotifiesTimeoutAndTerminates() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: true)
        let f = try #require(tx.start(now: t0).timer(.f))
        _ = tx.responseReceived(statusCode: 100, now: t0)
        #expect(tx.timerFired(f, now: t0 + .seconds(32)) == [.notifyTimeout, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test(arguments: [200, 302, 481, 503, 699])
    func finalResponseMovesToCompletedStopsEAndFAndArmsTimerKAtT4(statusCode: Int) throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        let actions = tx.responseReceived(statusCode: statusCode, now: t0 + .seconds(1))
        let k = try #require(actions.timer(.k))
        #expect(actions == [
            .passResponseToTU, .cancelTimer(.e), .cancelTimer(.f), .scheduleTimer(k, at: t0 + .seconds(6)),
        ])
        #expect(tx.state == .completed)
    }

    @Test func timerKIsZeroOnReliableTransportSoFinalResponseTerminatesAtOnce() {
        var tx = ClientNonInviteTransaction(reliableTransport: true)
        _ = tx.start(now: t0)
        _ = tx.responseReceived(statusCode: 100, now: t0)
        #expect(tx.responseReceived(statusCode: 200, now: t0) == [.passResponseToTU, .cancelTimer(.f), .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func aTransactionThatDoesNotAbsorbRetransmissionsEndsAtItsFinalResponse() {
        var tx = ClientNonInviteTransaction(reliableTransport: false, absorbsResponseRetransmissions: false)
        _ = tx.start(now: t0)
        #expect(tx.responseReceived(statusCode: 200, now: t0) == [.passResponseToTU, .cancelTimer(.e), .cancelTimer(.f), .terminate])
        #expect(tx.state == .terminated)
        // Timer E still retransmits before the answer.
        var waiting = ClientNonInviteTransaction(reliableTransport: false, absorbsResponseRetransmissions: false)
        let e = waiting.start(now: t0).timer(.e)
        #expect(e != nil)
    }

    @Test func completedAbsorbsResponseRetransmissionsUntilTimerK() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        let k = try #require(tx.responseReceived(statusCode: 200, now: t0).timer(.k))
        #expect(tx.responseReceived(statusCode: 200, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.responseReceived(statusCode: 100, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.transportFailed(now: t0 + .seconds(1)).isEmpty)
        #expect(tx.state == .completed)
        #expect(tx.timerFired(k, now: t0 + .seconds(5)) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test func timersEAndFFromBeforeTheFinalResponseAreStale() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        let started = tx.start(now: t0)
        let e = try #require(started.timer(.e))
        let f = try #require(started.timer(.f))
        _ = tx.responseReceived(statusCode: 200, now: t0 + .milliseconds(100))
        #expect(tx.timerFired(e, now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.timerFired(f, now: t0 + .seconds(32)).isEmpty)
        #expect(tx.state == .completed)
    }

    @Test func forgedGenerationOfAnArmedTimerIsIgnored() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        let e = try #require(tx.start(now: t0).timer(.e))
        #expect(tx.timerFired(forgedStale(e), now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.timerFired(e, now: t0 + .milliseconds(500)).first == .retransmitRequest)
        #expect(tx.timerFired(e, now: t0 + .milliseconds(600)).isEmpty)
    }

    @Test func transportErrorInTryingOrProceedingInformsTUAndTerminates() {
        var trying = ClientNonInviteTransaction(reliableTransport: false)
        _ = trying.start(now: t0)
        #expect(trying.transportFailed(now: t0) == [
            .notifyTransportError, .cancelTimer(.e), .cancelTimer(.f), .terminate,
        ])
        #expect(trying.state == .terminated)

        var proceeding = ClientNonInviteTransaction(reliableTransport: true)
        _ = proceeding.start(now: t0)
        _ = proceeding.responseReceived(statusCode: 100, now: t0)
        #expect(proceeding.transportFailed(now: t0) == [.notifyTransportError, .cancelTimer(.f), .terminate])
        #expect(proceeding.state == .terminated)
    }

    @Test func eventsAfterTerminationProduceNoActions() throws {
        var tx = ClientNonInviteTransaction(reliableTransport: false)
        let f = try #require(tx.start(now: t0).timer(.f))
        _ = tx.transportFailed(now: t0)
        #expect(tx.start(now: t0).isEmpty)
        #expect(tx.responseReceived(statusCode: 200, now: t0).isEmpty)
        #expect(tx.timerFired(f, now: t0 + .seconds(32)).isEmpty)
        #expect(tx.transportFailed(now: t0).isEmpty)
        #expect(tx.state == .terminated)
    }
}
