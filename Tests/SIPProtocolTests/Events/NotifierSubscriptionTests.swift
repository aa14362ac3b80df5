import Testing
@testable import SIPProtocol

private let start = SIPInstant(nanoseconds: 1_000_000_000)

@Suite struct NotifierSubscriptionTests {
    func notifies(_ actions: [NotifierSubscription.Action]) -> [SubscriptionStateHeader] {
        actions.compactMap { if case .sendNotify(let header, _) = $0 { return header } else { return nil } }
    }

    @Test func acceptedSubscriptionAnswers200BeforeItsFirstNotify() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        let actions = machine.start(expires: 600, now: start)
        #expect(actions.first == .respond(status: 200, expires: 600))
        #expect(actions.last == .sendNotify(SubscriptionStateHeader(status: .active, expires: 600), withState: true))
        #expect(actions.contains(.persist))
    }

    @Test func pendingSubscriptionNotifiesWithoutState() {
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(60))
        #expect(machine.start(expires: 60, now: start).last == .sendNotify(SubscriptionStateHeader(status: .pending, expires: 60), withState: false))
        // State changes are not sent to a pending watcher.
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        #expect(machine.stateChanged(now: start).isEmpty)
    }

    @Test func onlyOneNotifyInFlightAndTheLatestStateFollows() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        _ = machine.start(expires: 600, now: start)
        #expect(self.notifies(machine.stateChanged(now: start)).isEmpty)
        #expect(self.notifies(machine.stateChanged(now: start)).isEmpty)
        let after = machine.notifyCompleted(statusCode: 200, now: start + .seconds(10))
        #expect(self.notifies(after) == [SubscriptionStateHeader(status: .active, expires: 590)])
        #expect(machine.notifyCompleted(statusCode: 200, now: start).isEmpty)
    }

    @Test func unsubscribeSendsTerminatedAndRemovesAfterItsAnswer() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        _ = machine.start(expires: 600, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        let actions = machine.unsubscribe(now: start)
        #expect(actions.first == .respond(status: 200, expires: 0))
        #expect(self.notifies(actions) == [SubscriptionStateHeader(status: .terminated, reason: .timeout)])
        #expect(machine.notifyCompleted(statusCode: 200, now: start) == [.remove])
        #expect(machine.refresh(expires: 60, expiresAt: start, now: start) == [.respond(status: 481, expires: 0)])
    }

    @Test func expiryTimerEndsTheSubscriptionAndStaleTimersAreIgnored() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        let first = machine.start(expires: 600, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        guard case .scheduleTimer(let oldTimer, _)? = first.first(where: { if case .scheduleTimer = $0 { return true } else { return false } }) else {
            Issue.record("no expiry timer")
            return
        }
        let refreshed = machine.refresh(expires: 600, expiresAt: start + .seconds(900), now: start + .seconds(300))
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        #expect(machine.timerFired(oldTimer, now: start + .seconds(600)).isEmpty)
        guard case .scheduleTimer(let newTimer, let at)? = refreshed.first(where: { if case .scheduleTimer = $0 { return true } else { return false } }) else {
            Issue.record("no new expiry timer")
            return
        }
        #expect(at == start + .seconds(900))
        #expect(self.notifies(machine.timerFired(newTimer, now: at)) == [SubscriptionStateHeader(status: .terminated, reason: .timeout)])
    }

    @Test func failedNotifyEndsTheSubscription() {
        for failure in [481, 408, 403, 501, 603] as [Int?] + [nil] {
            var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
            _ = machine.start(expires: 600, now: start)
            #expect(machine.notifyCompleted(statusCode: failure, now: start) == [.remove], "\(String(describing: failure))")
            #expect(machine.status == .terminated)
            #expect(machine.stateChanged(now: start).isEmpty)
        }
    }

    @Test func unavailableWithRetryAfterIsRetried() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        _ = machine.start(expires: 600, now: start)
        let retry = machine.notifyCompleted(statusCode: 503, retryAfter: 5, now: start)
        guard case .scheduleTimer(let timer, let at)? = retry.first else {
            Issue.record("no retry timer")
            return
        }
        #expect(at == start + .seconds(5))
        #expect(self.notifies(machine.timerFired(timer, now: at)).count == 1)
    }

    @Test func aRetryAfterLongerThanAMinuteIsCut() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        _ = machine.start(expires: 600, now: start)
        let retry = machine.notifyCompleted(statusCode: 503, retryAfter: 86_400, now: start)
        guard case .scheduleTimer(_, let at)? = retry.first else {
            Issue.record("no retry timer")
            return
        }
        #expect(at == start + .seconds(NotifierSubscription.maximumRetryDelay))
    }

    @Test func passingFailuresAreRetriedAFewTimesThenEndTheSubscription() {
        // RFC 5057 §5.1: 500, 503 and 504 concern the transaction; without Retry-After the
        // NOTIFY is sent again after our own interval.
        for code in [500, 503, 504] {
            var machine = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
            _ = machine.start(expires: 600, now: start)
            var now = start
            for _ in 0..<NotifierSubscription.maximumRetries {
                let retry = machine.notifyCompleted(statusCode: code, now: now)
                guard case .scheduleTimer(let timer, let at)? = retry.first, timer.kind == .retry else {
                    Issue.record("\(code): no retry timer")
                    return
                }
                #expect(at == now + .seconds(NotifierSubscription.defaultRetryDelay))
                // State that changed meanwhile waits for the retry, which carries it.
                #expect(machine.stateChanged(now: now).isEmpty)
                now = at
                #expect(self.notifies(machine.timerFired(timer, now: now)) == [SubscriptionStateHeader(status: .active, expires: 600 - Int((now - start).components.seconds))])
            }
            #expect(machine.notifyCompleted(statusCode: code, now: now) == [.remove], "\(code)")
            #expect(machine.status == .terminated)
        }
    }

    @Test func onlyAnswersThatEndTheDialogEndItsOtherSubscriptions() {
        // RFC 5057 §5.1: these say the dialog is gone; 481 and a timeout only the usage.
        for code in [404, 410, 416, 482, 483, 484, 485, 502, 604] { #expect(NotifierSubscription.failureEndsDialog(statusCode: code)) }
        for code in [nil, 200, 408, 481, 489, 500, 503, 603] as [Int?] { #expect(!NotifierSubscription.failureEndsDialog(statusCode: code)) }
        var sibling = NotifierSubscription(authorization: .allow, expiresAt: start + .seconds(600))
        _ = sibling.start(expires: 600, now: start)
        #expect(sibling.dialogEnded(now: start) == [.remove])
        #expect(sibling.stateChanged(now: start).isEmpty)
    }

    @Test func aPendingSubscriptionThatTimesOutLeavesAWaitingWatcherUntilADecision() {
        let wait = Duration.seconds(3600)
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(60), authorizationWait: wait)
        let started = machine.start(expires: 60, now: start)
        #expect(started.contains { if case .scheduleTimer(let timer, let at) = $0 { timer.kind == .authorizationWait && at == start + wait } else { false } })
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        let expiry = start + .seconds(60)
        #expect(self.notifies(machine.expire(now: expiry)) == [SubscriptionStateHeader(status: .terminated, reason: .timeout)])
        #expect(machine.isAboutToWait && !machine.isWaiting)
        // RFC 3857 §4.7.1: once the final NOTIFY is through, the watcher waits, with a new giveup timer.
        let waiting = machine.notifyCompleted(statusCode: 200, now: expiry)
        #expect(waiting.last == .keepWaiting(until: expiry + wait))
        #expect(machine.isWaiting && machine.status == .terminated)
        #expect(machine.stateChanged(now: expiry).isEmpty)
        #expect(machine.refresh(expires: 60, expiresAt: expiry + .seconds(60), now: expiry) == [.respond(status: 481, expires: 0)])
        // Approval ends the waiting watcher (no dialog to notify in).
        #expect(machine.authorizationChanged(.pending, now: expiry).isEmpty)
        #expect(machine.authorizationChanged(.allow, now: expiry) == [.remove])
        #expect(!machine.isWaiting)

        // Without a decision, the giveup timer ends it.
        var ignored = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(60), authorizationWait: wait)
        _ = ignored.start(expires: 60, now: start)
        _ = ignored.notifyCompleted(statusCode: 200, now: start)
        _ = ignored.expire(now: expiry)
        guard case .scheduleTimer(let giveup, _)? = ignored.notifyCompleted(statusCode: 408, now: expiry).first else {
            Issue.record("no giveup timer for the waiting watcher")
            return
        }
        #expect(ignored.isWaiting)
        #expect(ignored.timerFired(giveup, now: expiry + wait) == [.remove])
        #expect(ignored.terminationReason == .giveup)
    }

    @Test func aSubscriptionStillPendingWhenTheWaitRunsOutIsGivenUp() {
        let wait = Duration.seconds(3600)
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(7200), authorizationWait: wait)
        let started = machine.start(expires: 7200, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        guard case .scheduleTimer(let giveup, _)? = started.first(where: {
            if case .scheduleTimer(let timer, _) = $0 { timer.kind == .authorizationWait } else { false }
        }) else {
            Issue.record("no authorization wait timer")
            return
        }
        #expect(self.notifies(machine.timerFired(giveup, now: start + wait)) == [SubscriptionStateHeader(status: .terminated, reason: .giveup)])
        #expect(machine.notifyCompleted(statusCode: 200, now: start + wait) == [.remove])
        #expect(!machine.isWaiting)

        // An approved watcher is never given up.
        var approved = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(7200), authorizationWait: wait)
        let approvedStart = approved.start(expires: 7200, now: start)
        _ = approved.notifyCompleted(statusCode: 200, now: start)
        _ = approved.authorizationChanged(.allow, now: start)
        _ = approved.notifyCompleted(statusCode: 200, now: start)
        for case .scheduleTimer(let timer, _) in approvedStart where timer.kind == .authorizationWait {
            #expect(!approved.isCurrent(timer))
            #expect(approved.timerFired(timer, now: start + wait).isEmpty)
        }
        #expect(approved.status == .active)
    }

    @Test func aDecisionDuringTheFinalNotifyOfATimedOutWatcherLeavesNothingWaiting() {
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(60), authorizationWait: .seconds(3600))
        _ = machine.start(expires: 60, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        _ = machine.expire(now: start + .seconds(60))
        #expect(machine.isAboutToWait)
        #expect(machine.authorizationChanged(.allow, now: start + .seconds(60)).isEmpty)
        #expect(machine.notifyCompleted(statusCode: 200, now: start + .seconds(61)) == [.remove])
        #expect(!machine.isWaiting)
    }

    @Test func withoutAnAuthorizationWaitAnExpiredPendingSubscriptionIsGone() {
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(60))
        _ = machine.start(expires: 60, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        _ = machine.expire(now: start + .seconds(60))
        #expect(machine.notifyCompleted(statusCode: 200, now: start + .seconds(60)) == [.remove])
        #expect(!machine.isWaiting)
    }

    @Test func aRestoredWaitingWatcherIsReplacedByTheSameWatchersNewSubscription() {
        let (restored, actions) = NotifierSubscription.waiting(authorization: .pending, authorizationWait: .seconds(3600), givenUpAt: start + .seconds(10))
        var machine = restored
        #expect(machine.isWaiting)
        guard case .scheduleTimer(let timer, let at)? = actions.first, timer.kind == .authorizationWait else {
            Issue.record("no giveup timer")
            return
        }
        #expect(at == start + .seconds(10))
        #expect(machine.isCurrent(timer))
        #expect(machine.replacedByNewSubscription() == [.remove])
        #expect(machine.terminationReason == .giveup)
        #expect(machine.timerFired(timer, now: at).isEmpty)
    }

    @Test func authorizationChangesMoveThePendingWatcher() {
        var machine = NotifierSubscription(authorization: .pending, expiresAt: start + .seconds(600))
        _ = machine.start(expires: 600, now: start)
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        let approved = machine.authorizationChanged(.allow, now: start)
        #expect(approved.contains(.sendNotify(SubscriptionStateHeader(status: .active, expires: 600), withState: true)))
        _ = machine.notifyCompleted(statusCode: 200, now: start)
        #expect(self.notifies(machine.authorizationChanged(.reject, now: start)) == [SubscriptionStateHeader(status: .terminated, reason: .rejected)])
    }

    @Test func rejectedSubscriptionGetsATerminatedNotify() {
        var machine = NotifierSubscription(authorization: .reject, expiresAt: start)
        let actions = machine.start(expires: 600, now: start)
        #expect(self.notifies(actions) == [SubscriptionStateHeader(status: .terminated, reason: .rejected)])
    }

    @Test func fetchIsOneTerminatedNotifyWithState() {
        var machine = NotifierSubscription(authorization: .allow, expiresAt: start)
        let actions = machine.fetch(now: start)
        #expect(actions == [
            .respond(status: 200, expires: 0),
            .sendNotify(SubscriptionStateHeader(status: .terminated, reason: .timeout), withState: true),
        ])
        #expect(machine.notifyCompleted(statusCode: 200, now: start) == [.remove])
        var pending = NotifierSubscription(authorization: .pending, expiresAt: start)
        #expect(pending.fetch(now: start).last == .sendNotify(SubscriptionStateHeader(status: .terminated, reason: .timeout), withState: false))
    }

    @Test func headerText() {
        #expect(SubscriptionStateHeader(status: .active, expires: 3600).description == "active;expires=3600")
        #expect(SubscriptionStateHeader(status: .terminated, reason: .rejected).description == "terminated;reason=rejected")
    }
}

@Suite struct PublicationRulesTests {
    let policy = ExpiryPolicy(minExpires: 60, maxExpires: 3600, defaultExpires: 1800)

    @Test func requestKindsFollowRFC3903() throws {
        #expect(try PublicationRules.classify(ifMatch: nil, expires: 600, hasBody: true, policy: self.policy) == (.initial, 600))
        #expect(try PublicationRules.classify(ifMatch: "e1", expires: nil, hasBody: false, policy: self.policy) == (.refresh(entityTag: "e1"), 1800))
        #expect(try PublicationRules.classify(ifMatch: "e1", expires: 99999, hasBody: true, policy: self.policy) == (.modify(entityTag: "e1"), 3600))
        #expect(try PublicationRules.classify(ifMatch: " e1 ", expires: 0, hasBody: false, policy: self.policy) == (.remove(entityTag: "e1"), 0))
    }

    @Test func badRequestsAreRejected() {
        #expect(throws: PublicationRules.Rejection.intervalTooBrief(minExpires: 60)) {
            try PublicationRules.classify(ifMatch: nil, expires: 10, hasBody: true, policy: self.policy)
        }
        #expect(throws: PublicationRules.Rejection.self) { try PublicationRules.classify(ifMatch: nil, expires: 600, hasBody: false, policy: self.policy) }
        #expect(throws: PublicationRules.Rejection.self) { try PublicationRules.classify(ifMatch: nil, expires: 0, hasBody: true, policy: self.policy) }
    }
}
