@testable import SIPProtocol
import Testing

/// Virtual time starts at a non-zero instant, so absolute and relative instants differ.
private let t0 = SIPInstant(nanoseconds: 1_000_000_000)

/// RFC 3261 §17.2.1 as amended by RFC 6026 (Figure 7).
@Suite struct ServerInviteTransactionTests {
    private func completed(
        reliable: Bool,
        statusCode: Int = 486
    ) -> (ServerInviteTransaction, [ServerInviteTransaction.Action]) {
        var tx = ServerInviteTransaction(reliableTransport: reliable)
        _ = tx.start(now: t0)
        let actions = tx.responseSent(statusCode: statusCode, now: t0)
        return (tx, actions)
    }

    @Test func startsInProceedingAndSendsTryingAtOnce() {
        var tx = ServerInviteTransaction(reliableTransport: false)
        #expect(tx.state == .proceeding)
        #expect(tx.start(now: t0) == [.sendTrying])
        #expect(tx.start(now: t0).isEmpty)
        #expect(tx.state == .proceeding)
    }

    @Test func inviteRetransmissionInProceedingResendsLatestProvisionalResponse() {
        var tx = ServerInviteTransaction(reliableTransport: false)
        #expect(tx.requestRetransmitted(now: t0).isEmpty)
        _ = tx.start(now: t0)
        #expect(tx.requestRetransmitted(now: t0 + .milliseconds(500)) == [.resendLastResponse])
        #expect(tx.responseSent(statusCode: 180, now: t0 + .seconds(1)) == [.sendResponse])
        #expect(tx.state == .proceeding)
        #expect(tx.requestRetransmitted(now: t0 + .seconds(2)) == [.resendLastResponse])
    }

    @Test func nonTwoXXFinalResponseStartsTimersGAndHOnUnreliableTransport() throws {
        let (tx, actions) = self.completed(reliable: false)
        let g = try #require(actions.timer(.g))
        let h = try #require(actions.timer(.h))
        #expect(actions == [
            .sendResponse,
            .scheduleTimer(g, at: t0 + .milliseconds(500)),
            .scheduleTimer(h, at: t0 + .seconds(32)),
        ])
        #expect(tx.state == .completed)
    }

    @Test func reliableTransportStartsOnlyTimerHInCompleted() {
        let (tx, actions) = self.completed(reliable: true, statusCode: 603)
        #expect(actions.scheduledNames == [.h])
        #expect(tx.state == .completed)
    }

    @Test func timerGDoublesUpToT2AndTimerHEndsItWithATimeout() throws {
        let (initial, actions) = self.completed(reliable: false)
        var tx = initial
        var wheel = VirtualTimers()
        wheel.record(actions)
        var resends: [Duration] = []
        while let fired = wheel.fireNext(into: &tx) {
            if fired.name == .g {
                #expect(fired.actions.first == .resendLastResponse)
                resends.append(fired.at - t0)
            } else {
                #expect(fired.name == .h)
                #expect(fired.at == t0 + .seconds(32))
                #expect(fired.actions == [.notifyTimeout, .cancelTimer(.g), .terminate])
            }
        }
        let expected = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
            .map { Duration.milliseconds($0) }
        #expect(resends == expected)
        #expect(tx.state == .terminated)
    }

    @Test func inviteRetransmissionInCompletedResendsTheFinalResponse() {
        var (tx, _) = self.completed(reliable: false)
        #expect(tx.requestRetransmitted(now: t0 + .seconds(1)) == [.resendLastResponse])
        #expect(tx.responseSent(statusCode: 200, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.state == .completed)
    }

    @Test func ackInCompletedMovesToConfirmedStopsGAndHAndStartsTimerIAtT4() throws {
        var (tx, _) = self.completed(reliable: false)
        let actions = tx.ackReceived(now: t0 + .seconds(1))
        let i = try #require(actions.timer(.i))
        #expect(actions == [.cancelTimer(.g), .cancelTimer(.h), .scheduleTimer(i, at: t0 + .seconds(6))])
        #expect(tx.state == .confirmed)
        #expect(tx.timerFired(i, now: t0 + .seconds(6)) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test func timerIIsZeroOnReliableTransportSoAckTerminatesAtOnce() {
        var (tx, _) = self.completed(reliable: true)
        #expect(tx.ackReceived(now: t0 + .seconds(1)) == [.cancelTimer(.h), .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func confirmedAbsorbsAckAndInviteRetransmissions() {
        var (tx, _) = self.completed(reliable: false)
        _ = tx.ackReceived(now: t0 + .seconds(1))
        #expect(tx.ackReceived(now: t0 + .seconds(2)).isEmpty)
        #expect(tx.requestRetransmitted(now: t0 + .seconds(2)).isEmpty)
        #expect(tx.transportFailed(now: t0 + .seconds(2)).isEmpty)
        #expect(tx.state == .confirmed)
    }

    @Test func timersGAndHFromBeforeTheAckAreStale() throws {
        let (initial, completedActions) = self.completed(reliable: false)
        var tx = initial
        let g = try #require(completedActions.timer(.g))
        let h = try #require(completedActions.timer(.h))
        _ = tx.ackReceived(now: t0 + .milliseconds(100))
        #expect(tx.timerFired(g, now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.timerFired(h, now: t0 + .seconds(32)).isEmpty)
        #expect(tx.state == .confirmed)
    }

    @Test func rescheduledTimerGReplacesTheEarlierGeneration() throws {
        let (initial, completedActions) = self.completed(reliable: false)
        var tx = initial
        let g1 = try #require(completedActions.timer(.g))
        let g2 = try #require(tx.timerFired(g1, now: t0 + .milliseconds(500)).timer(.g))
        #expect(g1 != g2)
        #expect(tx.timerFired(g1, now: t0 + .milliseconds(600)).isEmpty)
        #expect(tx.timerFired(g2, now: t0 + .milliseconds(1500)).first == .resendLastResponse)
    }

    @Test func twoXXMovesToAcceptedWithTimerLAt64T1() throws {
        var tx = ServerInviteTransaction(reliableTransport: true)
        _ = tx.start(now: t0)
        let actions = tx.responseSent(statusCode: 200, now: t0)
        let l = try #require(actions.timer(.l))
        #expect(actions == [.sendResponse, .scheduleTimer(l, at: t0 + .seconds(32))])
        #expect(tx.state == .accepted)
    }

    @Test func acceptedAbsorbsInviteRetransmissionsWithoutResending() {
        var tx = ServerInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        _ = tx.responseSent(statusCode: 200, now: t0)
        #expect(tx.requestRetransmitted(now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.state == .accepted)
    }

    @Test func acceptedSendsTheTUs2xxRetransmissionsAndPassesAckToTU() {
        var tx = ServerInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        _ = tx.responseSent(statusCode: 200, now: t0)
        #expect(tx.responseSent(statusCode: 200, now: t0 + .milliseconds(500)) == [.sendResponse])
        #expect(tx.responseSent(statusCode: 180, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.responseSent(statusCode: 486, now: t0 + .seconds(1)).isEmpty)
        #expect(tx.ackReceived(now: t0 + .seconds(1)) == [.passAckToTU])
        #expect(tx.state == .accepted)
    }

    @Test func timerLTerminatesTheAcceptedTransaction() throws {
        var tx = ServerInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        let l = try #require(tx.responseSent(statusCode: 200, now: t0).timer(.l))
        #expect(tx.timerFired(forgedStale(l), now: t0 + .seconds(32)).isEmpty)
        #expect(tx.timerFired(l, now: t0 + .seconds(32)) == [.terminate])
        #expect(tx.state == .terminated)
    }

    @Test func transportErrorInAcceptedInformsTUAndWaitsForTimerL() {
        var tx = ServerInviteTransaction(reliableTransport: false)
        _ = tx.start(now: t0)
        _ = tx.responseSent(statusCode: 200, now: t0)
        #expect(tx.transportFailed(now: t0) == [.notifyTransportError])
        #expect(tx.state == .accepted)
    }

    @Test func transportErrorInProceedingOrCompletedInformsTUAndTerminates() {
        var proceeding = ServerInviteTransaction(reliableTransport: false)
        _ = proceeding.start(now: t0)
        #expect(proceeding.transportFailed(now: t0) == [.notifyTransportError, .terminate])
        #expect(proceeding.state == .terminated)

        var (completed, _) = self.completed(reliable: false)
        #expect(completed.transportFailed(now: t0) == [
            .notifyTransportError, .cancelTimer(.g), .cancelTimer(.h), .terminate,
        ])
        #expect(completed.state == .terminated)
    }

    @Test func eventsAfterTerminationProduceNoActions() {
        var (tx, _) = self.completed(reliable: true)
        _ = tx.ackReceived(now: t0)
        #expect(tx.start(now: t0).isEmpty)
        #expect(tx.requestRetransmitted(now: t0).isEmpty)
        #expect(tx.responseSent(statusCode: 200, now: t0).isEmpty)
        #expect(tx.ackReceived(now: t0).isEmpty)
        #expect(tx.transportFailed(now: t0).isEmpty)
        #expect(tx.state == .terminated)
    }
}
