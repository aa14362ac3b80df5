@testable import SIPProtocol
import Testing

/// Virtual time starts at a non-zero instant, so absolute and relative instants differ.
private let t0 = SIPInstant(nanoseconds: 1_000_000_000)

/// RFC 3261 §17.1.1 as amended by RFC 6026 (Figure 5).
@Suite struct ClientInviteTransactionTests {
    private func started(reliable: Bool) -> (ClientInviteTransaction, [ClientInviteTransaction.Action]) {
        var tx = ClientInviteTransaction(reliableTransport: reliable)
        let actions = tx.start(now: t0)
        return (tx, actions)
    }

    @Test func startSendsTheInviteAndArmsTimerAAtT1AndTimerBAt64T1() throws {
        let (initial, actions) = self.started(reliable: false)
        var tx = initial
        let a = try #require(actions.timer(.a))
        let b = try #require(actions.timer(.b))
        #expect(actions == [
            .sendRequest,
            .scheduleTimer(a, at: t0 + .milliseconds(500)),
            .scheduleTimer(b, at: t0 + .seconds(32)),
        ])
        #expect(tx.state == .calling)
        #expect(tx.start(now: t0).isEmpty)
    }

    @Test func reliableTransportArmsOnlyTimerB() {
        let (_, actions) = self.started(reliable: true)
        #expect(actions.first == .sendRequest)
        #expect(actions.scheduledNames == [.b])
    }

    @Test func timerADoublesWithoutCapUntilTimerBTimesOut() {
        let (initial, actions) = self.started(reliable: false)
        var tx = initial
        var wheel = VirtualTimers()
        wheel.record(actions)
        var retransmissions: [Duration] = []
        while let fired = wheel.fireNext(into: &tx) {
            if fired.name == .a {
                #expect(fired.actions.first == .retransmitRequest)
                retransmissions.append(fired.at - t0)
            } else {
                #expect(fired.name == .b)
                #expect(fired.at == t0 + .seconds(32))
                #expect(fired.actions == [.notifyTimeout, .cancelTimer(.a), .terminate])
            }
        }
        // Intervals 0.5, 1, 2, 4, 8, 16 s: past T2 = 4 s, since Timer A has no cap.
        let expected = [500, 1500, 3500, 7500, 15500, 31500].map { Duration.milliseconds($0) }
        #expect(retransmissions == expected)
        #expect(tx.state == .terminated)
    }

    @Test func provisionalResponseMovesToProceedingAndStopsTimersAAndB() throws {
        let (initial, actions) = self.started(reliable: false)
        var tx = initial
        let a = try #require(actions.timer(.a))
        let b = try #require(actions.timer(.b))
        #expect(tx.responseReceived(statusCode: 100, now: t0 + .milliseconds(200)) == [
            .passResponseToTU, .cancelTimer(.a), .cancelTimer(.b),
        ])
        #expect(tx.state == .proceeding)
        #expect(tx.timerFired(a, now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.timerFired(b, now: t0 + .seconds(32)).isEmpty)
        #expect(tx.responseReceived(statusCode: 183, now: t0 + .seconds(40)) == [.passResponseToTU])
        #expect(tx.state == .proceeding)
    }

    @Test func forgedGenerationOfTimerAIsIgnored() throws {
        let (initial, actions) = self.started(reliable: false)
        var tx = initial
        let a = try #require(actions.timer(.a))
        #expect(tx.timerFired(forgedStale(a), now: t0 + .milliseconds(500)).isEmpty)
        let next = tx.timerFired(a, now: t0 + .milliseconds(500))
        #expect(next.first == .retransmitRequest)
        #expect(next.deadline(.a) == t0 + .milliseconds(1500))
        #expect(tx.timerFired(a, now: t0 + .milliseconds(1500)).isEmpty)
    }

    @Test(arguments: [300, 404, 487, 699])
    func nonTwoXXFinalResponseIsPassedUpAckedAndArmsTimerD(statusCode: Int) throws {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        let actions = tx.responseReceived(statusCode: statusCode, now: t0 + .seconds(1))
        let d = try #require(actions.timer(.d))
        #expect(actions == [
            .passResponseToTU, .sendAck, .cancelTimer(.a), .cancelTimer(.b),
            .scheduleTimer(d, at: t0 + .seconds(33)),
        ])
        #expect(tx.state == .completed)
    }

    @Test func timerDIsZeroOnReliableTransportSoNonTwoXXTerminatesAfterTheAck() {
        let (initial, _) = self.started(reliable: true)
        var tx = initial
        _ = tx.responseReceived(statusCode: 180, now: t0)
        #expect(tx.responseReceived(statusCode: 486, now: t0) == [.passResponseToTU, .sendAck, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func retransmittedFinalResponseInCompletedIsAckedAgainButNotPassedUp() throws {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        _ = tx.responseReceived(statusCode: 180, now: t0)
        let d = try #require(tx.responseReceived(statusCode: 486, now: t0).timer(.d))
        #expect(tx.responseReceived(statusCode: 486, now: t0 + .seconds(1)) == [.sendAck])
        #expect(tx.responseReceived(statusCode: 180, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.responseReceived(statusCode: 200, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.transportFailed(now: t0 + .seconds(2)) == [.notifyTransportError, .cancelTimer(.d), .terminate])
        #expect(tx.timerFired(d, now: t0 + .seconds(32)).isEmpty)
    }

    @Test func timerDTerminatesTheCompletedTransaction() throws {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        let d = try #require(tx.responseReceived(statusCode: 503, now: t0).timer(.d))
        #expect(tx.timerFired(forgedStale(d), now: t0 + .seconds(32)).isEmpty)
        #expect(tx.timerFired(d, now: t0 + .seconds(32)) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test func twoXXInCallingMovesToAcceptedWithTimerMAt64T1() throws {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        let actions = tx.responseReceived(statusCode: 200, now: t0 + .seconds(1))
        let m = try #require(actions.timer(.m))
        #expect(actions == [
            .passResponseToTU, .cancelTimer(.a), .cancelTimer(.b), .scheduleTimer(m, at: t0 + .seconds(33)),
        ])
        #expect(tx.state == .accepted)
    }

    @Test func twoXXInProceedingMovesToAcceptedOnReliableTransportToo() throws {
        let (initial, _) = self.started(reliable: true)
        var tx = initial
        _ = tx.responseReceived(statusCode: 180, now: t0)
        let actions = tx.responseReceived(statusCode: 202, now: t0 + .seconds(2))
        let m = try #require(actions.timer(.m))
        #expect(actions == [.passResponseToTU, .scheduleTimer(m, at: t0 + .seconds(34))])
        #expect(tx.state == .accepted)
    }

    @Test func acceptedPassesEveryFurtherTwoXXToTheTUAndAbsorbsTheRest() throws {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        let m = try #require(tx.responseReceived(statusCode: 200, now: t0).timer(.m))
        #expect(tx.responseReceived(statusCode: 200, now: t0 + .milliseconds(500)) == [.passResponseToTU])
        #expect(tx.responseReceived(statusCode: 200, now: t0 + .seconds(1)) == [.passResponseToTU])
        #expect(tx.responseReceived(statusCode: 180, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.responseReceived(statusCode: 486, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.transportFailed(now: t0 + .seconds(1)).isEmpty)
        #expect(tx.state == .accepted)
        #expect(tx.timerFired(m, now: t0 + .seconds(32)) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test func transportErrorInCallingInformsTUAndTerminates() {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        #expect(tx.transportFailed(now: t0) == [.notifyTransportError, .cancelTimer(.a), .cancelTimer(.b), .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func transportErrorInProceedingIsIgnoredBecauseNothingIsSent() {
        let (initial, _) = self.started(reliable: false)
        var tx = initial
        _ = tx.responseReceived(statusCode: 100, now: t0)
        #expect(tx.transportFailed(now: t0).isEmpty)
        #expect(tx.state == .proceeding)
    }

    @Test func eventsAfterTerminationProduceNoActions() throws {
        let (initial, actions) = self.started(reliable: false)
        var tx = initial
        let b = try #require(actions.timer(.b))
        _ = tx.timerFired(b, now: t0 + .seconds(32))
        #expect(tx.state == .terminated)
        #expect(tx.start(now: t0).isEmpty)
        #expect(tx.responseReceived(statusCode: 200, now: t0 + .seconds(33)).isEmpty)
        #expect(tx.responseReceived(statusCode: 486, now: t0 + .seconds(33)).isEmpty)
        #expect(tx.transportFailed(now: t0 + .seconds(33)).isEmpty)
        #expect(tx.timerFired(b, now: t0 + .seconds(33)).isEmpty)
    }
}
