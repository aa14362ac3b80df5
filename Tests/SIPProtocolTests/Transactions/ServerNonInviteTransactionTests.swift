@testable import SIPProtocol
import Testing

/// Virtual time starts at a non-zero instant, so absolute and relative instants differ.
private let t0 = SIPInstant(nanoseconds: 1_000_000_000)

/// RFC 3261 §17.2.2 (Figure 8).
@Suite struct ServerNonInviteTransactionTests {
    @Test func startsInTryingAndSendsNothingUntilTheTUResponds() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        #expect(tx.state == .trying)
        #expect(tx.start(now: t0).isEmpty)
        #expect(tx.state == .trying)
    }

    @Test func tryingAbsorbsRequestRetransmissionsSilently() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        #expect(tx.requestRetransmitted(now: t0 + .milliseconds(500)).isEmpty)
        #expect(tx.state == .trying)
    }

    @Test func transportErrorInTryingIsIgnoredBecauseNothingWasSent() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        #expect(tx.transportFailed(now: t0).isEmpty)
        #expect(tx.state == .trying)
    }

    @Test func provisionalResponseMovesToProceedingAndRetransmissionsResendIt() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        #expect(tx.responseSent(statusCode: 100, now: t0) == [.sendResponse])
        #expect(tx.state == .proceeding)
        #expect(tx.requestRetransmitted(now: t0 + .milliseconds(500)) == [.resendLastResponse])
        #expect(tx.responseSent(statusCode: 180, now: t0 + .seconds(1)) == [.sendResponse])
        #expect(tx.state == .proceeding)
    }

    @Test(arguments: [200, 404, 699])
    func finalResponseMovesToCompletedAndStartsTimerJAt64T1OnUnreliableTransport(statusCode: Int) throws {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        let actions = tx.responseSent(statusCode: statusCode, now: t0)
        let j = try #require(actions.timer(.j))
        #expect(actions == [.sendResponse, .scheduleTimer(j, at: t0 + .seconds(32))])
        #expect(tx.state == .completed)
    }

    @Test func finalResponseFromProceedingAlsoCompletes() throws {
        let settings = TransactionTimerSettings(t1: .seconds(1))
        var tx = ServerNonInviteTransaction(reliableTransport: false, settings: settings)
        _ = tx.responseSent(statusCode: 100, now: t0)
        let actions = tx.responseSent(statusCode: 486, now: t0 + .seconds(2))
        #expect(actions.deadline(.j) == t0 + .seconds(66))
        #expect(tx.state == .completed)
    }

    @Test func timerJIsZeroOnReliableTransportSoFinalResponseTerminatesAtOnce() {
        var tx = ServerNonInviteTransaction(reliableTransport: true)
        _ = tx.responseSent(statusCode: 100, now: t0)
        #expect(tx.responseSent(statusCode: 200, now: t0) == [.sendResponse, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func aTransactionWhoseTUAnswersRetransmissionsEndsAtItsFinalResponse() {
        var tx = ServerNonInviteTransaction(reliableTransport: false, absorbsRequestRetransmissions: false)
        _ = tx.start(now: t0)
        #expect(tx.responseSent(statusCode: 100, now: t0) == [.sendResponse])
        #expect(tx.requestRetransmitted(now: t0) == [.resendLastResponse])  // provisional: still the transaction's
        #expect(tx.responseSent(statusCode: 200, now: t0) == [.sendResponse, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func completedResendsFinalResponseForRetransmissionsAndDiscardsNewResponses() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        _ = tx.responseSent(statusCode: 200, now: t0)
        #expect(tx.requestRetransmitted(now: t0 + .seconds(1)) == [.resendLastResponse])
        #expect(tx.requestRetransmitted(now: t0 + .seconds(2)) == [.resendLastResponse])
        #expect(tx.responseSent(statusCode: 500, now: t0 + .seconds(3)).isEmpty)
        #expect(tx.responseSent(statusCode: 180, now: t0 + .seconds(3)).isEmpty)
        #expect(tx.state == .completed)
    }

    @Test func timerJTerminatesTheCompletedTransaction() throws {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        let j = try #require(tx.responseSent(statusCode: 200, now: t0).timer(.j))
        #expect(tx.timerFired(j, now: t0 + .seconds(32)) == [.terminate])
        #expect(tx.state == .terminated)
        #expect(tx.timerFired(j, now: t0 + .seconds(33)).isEmpty)
    }

    @Test func staleOrForeignTimersAreIgnored() throws {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        let j = try #require(tx.responseSent(statusCode: 200, now: t0).timer(.j))
        #expect(tx.timerFired(forgedStale(j), now: t0 + .seconds(32)).isEmpty)
        #expect(tx.timerFired(TransactionTimer(name: .k, generation: j.generation), now: t0 + .seconds(32)).isEmpty)
        #expect(tx.state == .completed)
    }

    @Test func statusCodesOutside100To699AreDiscarded() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        #expect(tx.responseSent(statusCode: 99, now: t0).isEmpty)
        #expect(tx.responseSent(statusCode: 700, now: t0).isEmpty)
        #expect(tx.state == .trying)
    }

    @Test func transportErrorInProceedingInformsTUAndTerminates() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        _ = tx.responseSent(statusCode: 100, now: t0)
        #expect(tx.transportFailed(now: t0) == [.notifyTransportError, .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func transportErrorInCompletedInformsTUCancelsTimerJAndTerminates() {
        var tx = ServerNonInviteTransaction(reliableTransport: false)
        _ = tx.responseSent(statusCode: 403, now: t0)
        #expect(tx.transportFailed(now: t0) == [.notifyTransportError, .cancelTimer(.j), .terminate])
        #expect(tx.state == .terminated)
    }

    @Test func eventsAfterTerminationProduceNoActions() {
        var tx = ServerNonInviteTransaction(reliableTransport: true)
        _ = tx.responseSent(statusCode: 200, now: t0)
        #expect(tx.requestRetransmitted(now: t0).isEmpty)
        #expect(tx.responseSent(statusCode: 200, now: t0).isEmpty)
        #expect(tx.transportFailed(now: t0).isEmpty)
        #expect(tx.timerFired(TransactionTimer(name: .j, generation: 1), now: t0).isEmpty)
        #expect(tx.state == .terminated)
    }
}
