/// One subscription as its notifier sees it (RFC 6665 §4.2), as a pure state machine. The
/// engine owns the dialog and bodies; this decides when a NOTIFY goes out, with which
/// Subscription-State, and when the subscription ends.
///
/// Ordering rules (RFC 6665 §4.2.1, §4.2.2): the 200 to a SUBSCRIBE comes before its NOTIFY;
/// one NOTIFY is in flight at a time, and state that changes meanwhile is sent once, as the
/// latest state, when it completes; a terminated NOTIFY is the last one.
///
/// A watcher waiting for the presentity's decision is kept for a while even after its
/// subscription ends (RFC 3857 §4.7.1): a pending subscription that times out becomes
/// *waiting* (no dialog, no NOTIFYs, still listed in watcher information) until it is approved,
/// rejected, replaced, or given up when the authorization wait runs out; a subscription still
/// pending then is ended with reason "giveup" (RFC 6665 §4.1.3).
public struct NotifierSubscription: Sendable {
    public enum Action: Sendable, Equatable {
        /// Answer the SUBSCRIBE with this status and Expires.
        case respond(status: Int, expires: Int)
        /// Send a NOTIFY with this header; `withState` says whether it carries the resource state.
        case sendNotify(SubscriptionStateHeader, withState: Bool)
        case scheduleTimer(NotifierTimer, at: SIPInstant)
        /// The subscription changed in a way worth keeping across a restart.
        case persist
        /// Forget the subscription (and its stored copy).
        case remove
        /// The subscription ended while pending: keep it, without its dialog, as a waiting
        /// watcher until this instant (RFC 3857 §4.7.1), and store it so.
        case keepWaiting(until: SIPInstant)
    }

    public enum NotifierTimerKind: Sendable, Equatable {
        case expiry, retry
        /// The authorization wait of a pending or waiting watcher ran out.
        case authorizationWait
    }

    public struct NotifierTimer: Sendable, Hashable {
        public var kind: NotifierTimerKind
        public var generation: UInt32
    }

    /// A NOTIFY refused for a passing reason (RFC 5057 §5.1: 500, 503, 504 concern the
    /// transaction only) is sent again at most this often before the subscription ends.
    public static let maximumRetries = 3
    /// The wait before such a retry when the answer gives no Retry-After.
    public static let defaultRetryDelay = 5
    /// A subscriber's Retry-After is obeyed up to this: a NOTIFY (and the state and expiry
    /// behind it) is not held back for as long as a peer may ask.
    public static let maximumRetryDelay = 60

    // A server holds hundreds of thousands of these, inline in each subscription: the one-byte
    // fields come first so that they share one word, and the counters are 32-bit (40 bytes).
    public private(set) var status: SubscriptionStatus
    public private(set) var authorization: SubscriptionAuthorization
    public private(set) var terminationReason: TerminationReason?
    /// In RFC 3857's waiting state: the subscription is over, the watcher's request still
    /// awaits the presentity's decision.
    public private(set) var isWaiting = false
    /// The pending subscription's final NOTIFY is for a timeout: once it completes, the watcher waits.
    private var waitsAfterFinalNotify = false
    private var notifyInFlight = false
    private var notifyPending = false
    private var finalNotifySent = false
    private var retries: UInt8 = 0
    /// `authorizationWait` in seconds; 0: none.
    private let authorizationWaitSeconds: UInt32
    public private(set) var expiresAt: SIPInstant
    private var generation: UInt32 = 0
    private var expiryTimer: UInt32 = 0
    private var retryTimer: UInt32 = 0
    private var authorizationTimer: UInt32 = 0

    /// How long a watcher may wait for authorization, pending and then waiting; nil: no
    /// waiting state and no giveup.
    public var authorizationWait: Duration? {
        self.authorizationWaitSeconds > 0 ? .seconds(self.authorizationWaitSeconds) : nil
    }

    /// Terminated, and waiting once the final NOTIFY is through.
    public var isAboutToWait: Bool { self.waitsAfterFinalNotify }

    public init(authorization: SubscriptionAuthorization, expiresAt: SIPInstant, authorizationWait: Duration? = nil) {
        self.authorization = authorization
        self.status = Self.status(for: authorization)
        self.expiresAt = expiresAt
        self.authorizationWaitSeconds = authorizationWait.map { UInt32(clamping: max(0, $0.components.seconds)) } ?? 0
    }

    /// A waiting watcher restored from the store: no dialog, given up at `givenUpAt` unless
    /// the presentity decides first.
    public static func waiting(
        authorization: SubscriptionAuthorization, authorizationWait: Duration, givenUpAt: SIPInstant
    ) -> (NotifierSubscription, [Action]) {
        var machine = NotifierSubscription(authorization: authorization, expiresAt: givenUpAt, authorizationWait: authorizationWait)
        machine.status = .terminated
        machine.terminationReason = .timeout
        machine.finalNotifySent = true
        machine.isWaiting = true
        let timer = machine.armAuthorizationWait(until: givenUpAt)
        return (machine, [timer])
    }

    static func status(for authorization: SubscriptionAuthorization) -> SubscriptionStatus {
        switch authorization {
        case .allow, .politeBlock: return .active
        case .pending: return .pending
        case .reject: return .terminated
        }
    }

    /// A new subscription was accepted (RFC 6665 §4.2.1.1): 200, the expiry timer, and the
    /// first NOTIFY at once. A rejected one still gets its 200 and a terminated NOTIFY
    /// (RFC 6665 §4.2.1.1 allows either that or a 403; the engine picks).
    public mutating func start(expires: Int, now: SIPInstant) -> [Action] {
        var actions: [Action] = [.respond(status: 200, expires: expires)]
        if self.status == .terminated {
            self.terminationReason = .rejected
            actions += self.notify(now: now)
            return actions
        }
        actions.append(self.armExpiry())
        if self.status == .pending, let wait = self.authorizationWait { actions.append(self.armAuthorizationWait(until: now + wait)) }
        actions.append(.persist)
        actions += self.notify(now: now)
        return actions
    }

    /// A fetch: an out-of-dialog SUBSCRIBE with Expires: 0 (RFC 6665 §4.4.3) gets its 200 and
    /// one NOTIFY that carries the current state and ends the subscription at once.
    public mutating func fetch(now: SIPInstant) -> [Action] {
        let withState = self.status == .active
        self.status = .terminated
        self.terminationReason = self.terminationReason ?? (self.authorization == .reject ? .rejected : .timeout)
        self.notifyInFlight = true
        self.finalNotifySent = true
        return [
            .respond(status: 200, expires: 0),
            .sendNotify(SubscriptionStateHeader(status: .terminated, reason: self.terminationReason), withState: withState),
        ]
    }

    /// A subscription restored from the store after a restart: its expiry timer runs again
    /// (and a pending one's authorization wait, until `authorizationDeadline`); no NOTIFY goes
    /// out until its state changes.
    public mutating func resume(authorizationDeadline: SIPInstant? = nil) -> [Action] {
        guard self.status != .terminated else { return [] }
        var actions = [self.armExpiry()]
        if self.status == .pending, self.authorizationWait != nil, let authorizationDeadline {
            actions.append(self.armAuthorizationWait(until: authorizationDeadline))
        }
        return actions
    }

    /// A refreshing SUBSCRIBE in the dialog (RFC 6665 §4.2.1.2): new expiry, 200, and a NOTIFY.
    public mutating func refresh(expires: Int, expiresAt: SIPInstant, now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [.respond(status: 481, expires: 0)] }
        self.expiresAt = expiresAt
        var actions: [Action] = [.respond(status: 200, expires: expires), self.armExpiry(), .persist]
        actions += self.notify(now: now)
        return actions
    }

    /// A refresh for a resource that no longer exists: the refresh is accepted and the
    /// subscription ends at once with reason "noresource" (RFC 6665 §4.1.3), which tells the
    /// subscriber not to subscribe again. (An error answer would leave the subscription valid
    /// at the subscriber until it expires, §4.1.2.2.)
    public mutating func refreshOfGoneResource(now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [.respond(status: 481, expires: 0)] }
        return [.respond(status: 200, expires: 0)] + self.terminate(reason: .noresource, now: now)
    }

    /// SUBSCRIBE with Expires: 0 (RFC 6665 §4.2.1.4): 200, then a final NOTIFY.
    public mutating func unsubscribe(now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [.respond(status: 481, expires: 0)] }
        var actions: [Action] = [.respond(status: 200, expires: 0)]
        actions += self.terminate(reason: .timeout, now: now)
        return actions
    }

    /// The resource's state changed: notify an active watcher.
    public mutating func stateChanged(now: SIPInstant) -> [Action] {
        guard self.status == .active else { return [] }
        return self.notify(now: now)
    }

    /// The presentity's policy now answers differently (pres-rules change, RFC 5025).
    public mutating func authorizationChanged(_ authorization: SubscriptionAuthorization, now: SIPInstant) -> [Action] {
        guard authorization != self.authorization else { return [] }
        if self.waitsAfterFinalNotify {
            // Timed out while pending, final NOTIFY in flight: decided now, so no waiting after it.
            self.authorization = authorization
            if authorization != .pending { self.waitsAfterFinalNotify = false }
            return []
        }
        if self.isWaiting {
            // RFC 3857 §4.7.1: a waiting watcher approved or rejected is terminated and destroyed;
            // the subscriber subscribes again to see the state.
            guard authorization != .pending else { return [] }
            self.authorization = authorization
            self.isWaiting = false
            self.terminationReason = authorization == .reject ? .rejected : self.terminationReason
            return [.remove]
        }
        guard self.status != .terminated else { return [] }
        let wasPending = self.status == .pending
        self.authorization = authorization
        // A watcher no longer pending is no longer given up (its wait timer goes stale).
        if authorization != .pending { self.authorizationTimer = 0 }
        switch authorization {
        case .reject:
            return self.terminate(reason: .rejected, now: now)
        case .allow, .politeBlock, .pending:
            self.status = Self.status(for: authorization)
            var actions: [Action] = [.persist]
            if self.status == .pending, !wasPending, let wait = self.authorizationWait {
                actions.append(self.armAuthorizationWait(until: now + wait))
            }
            return actions + self.notify(now: now)
        }
    }

    /// The same watcher subscribed again (RFC 3857 §4.7.1): a waiting request it left behind is
    /// given up in favour of the new subscription.
    public mutating func replacedByNewSubscription() -> [Action] {
        guard self.isWaiting else { return [] }
        self.isWaiting = false
        self.terminationReason = .giveup
        return [.remove]
    }

    /// The server ends the subscription (e.g. the resource is gone: noresource, deactivated).
    public mutating func terminate(reason: TerminationReason, now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [] }
        self.status = .terminated
        self.terminationReason = reason
        return self.notify(now: now)
    }

    /// The NOTIFY transaction ended: `statusCode` nil means it timed out (RFC 6665 §4.2.2).
    public mutating func notifyCompleted(statusCode: Int?, retryAfter: Int? = nil, now: SIPInstant) -> [Action] {
        self.notifyInFlight = false
        switch statusCode {
        case .some(200..<300):
            self.retries = 0
            if self.finalNotifySent { return self.afterFinalNotify(now: now) }
            if self.notifyPending {
                self.notifyPending = false
                return self.notify(now: now)
            }
            return []
        case .some(let code) where [500, 503, 504].contains(code) && self.retries < Self.maximumRetries && !self.finalNotifySent:
            // RFC 5057 §5.1: these concern the transaction, not the subscription; try again after
            // the peer's Retry-After or our own interval, with whatever state is latest then.
            self.retries += 1
            self.generation &+= 1
            self.retryTimer = self.generation
            self.notifyPending = true
            self.notifyInFlight = true
            let delay = min(Self.maximumRetryDelay, max(0, retryAfter ?? Self.defaultRetryDelay))
            return [.scheduleTimer(NotifierTimer(kind: .retry, generation: self.generation), at: now + .seconds(delay))]
        default:
            if self.finalNotifySent { return self.afterFinalNotify(now: now) }
            // A timeout (Timer F), 481 and the other failures end the subscription without
            // another NOTIFY (RFC 6665 §4.2.2 and Appendix B.27); so do 408, which RFC 5057 §5.1
            // treats as a timeout, and a passing failure that kept coming back.
            self.status = .terminated
            self.finalNotifySent = true
            self.waitsAfterFinalNotify = false
            return [.remove]
        }
    }

    /// Whether a NOTIFY answered with `statusCode` shows that the whole dialog is gone, not
    /// only this subscription (RFC 5057 §5.1), so every subscription sharing it ends.
    public static func failureEndsDialog(statusCode: Int?) -> Bool {
        switch statusCode {
        case 404, 410, 416, 482, 483, 484, 485, 502, 604: return true
        default: return false
        }
    }

    /// Another subscription of the dialog learned that the dialog is gone: this one ends too,
    /// without a NOTIFY (there is no dialog to send it in).
    public mutating func dialogEnded(now: SIPInstant) -> [Action] {
        guard !self.isWaiting else { return [] }
        // A watcher that timed out while pending still waits for a decision: that needs no dialog.
        if self.waitsAfterFinalNotify { return self.afterFinalNotify(now: now) }
        self.status = .terminated
        self.finalNotifySent = true
        return [.remove]
    }

    /// The final NOTIFY was delivered (or failed): the subscription is forgotten, unless it
    /// timed out while pending and the watcher now waits for a decision.
    private mutating func afterFinalNotify(now: SIPInstant) -> [Action] {
        guard self.waitsAfterFinalNotify, let wait = self.authorizationWait else { return [.remove] }
        self.waitsAfterFinalNotify = false
        self.isWaiting = true
        // RFC 3857 §4.7.1 sets the giveup timer again on entering the waiting state.
        let until = now + wait
        return [self.armAuthorizationWait(until: until), .keepWaiting(until: until)]
    }

    /// The subscription was not refreshed in time (its expiry timer, or found expired at a
    /// restart): a terminated NOTIFY with reason "timeout"; a pending one leaves a waiting
    /// watcher behind (RFC 3857 §4.7.1).
    public mutating func expire(now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [] }
        self.waitsAfterFinalNotify = self.status == .pending && self.authorizationWait != nil
        return self.terminate(reason: .timeout, now: now)
    }

    /// Whether `timer` is the one currently armed for its kind (others are stale).
    public func isCurrent(_ timer: NotifierTimer) -> Bool {
        switch timer.kind {
        case .expiry: return timer.generation == self.expiryTimer
        case .retry: return timer.generation == self.retryTimer
        case .authorizationWait: return timer.generation == self.authorizationTimer
        }
    }

    public mutating func timerFired(_ timer: NotifierTimer, now: SIPInstant) -> [Action] {
        switch timer.kind {
        case .expiry:
            guard timer.generation == self.expiryTimer else { return [] }
            return self.expire(now: now)
        case .retry:
            guard timer.generation == self.retryTimer else { return [] }
            self.notifyInFlight = false
            self.notifyPending = false
            return self.notify(now: now)
        case .authorizationWait:
            guard timer.generation == self.authorizationTimer else { return [] }
            if self.isWaiting {
                self.isWaiting = false
                self.terminationReason = .giveup
                return [.remove]
            }
            // Still pending: the notifier could not obtain authorization in time (RFC 6665 §4.1.3).
            guard self.status == .pending else { return [] }
            return self.terminate(reason: .giveup, now: now)
        }
    }

    private mutating func armAuthorizationWait(until deadline: SIPInstant) -> Action {
        self.generation &+= 1
        self.authorizationTimer = self.generation
        return .scheduleTimer(NotifierTimer(kind: .authorizationWait, generation: self.generation), at: deadline)
    }

    private mutating func armExpiry() -> Action {
        self.generation &+= 1
        self.expiryTimer = self.generation
        return .scheduleTimer(NotifierTimer(kind: .expiry, generation: self.generation), at: self.expiresAt)
    }

    /// Sends the current state now, or once the NOTIFY in flight completes.
    private mutating func notify(now: SIPInstant) -> [Action] {
        guard !self.finalNotifySent else { return [] }
        if self.notifyInFlight {
            self.notifyPending = true
            return []
        }
        self.notifyInFlight = true
        let header: SubscriptionStateHeader
        switch self.status {
        case .terminated:
            self.finalNotifySent = true
            header = SubscriptionStateHeader(status: .terminated, reason: self.terminationReason)
            return [.sendNotify(header, withState: false)]
        case .active, .pending:
            header = SubscriptionStateHeader(status: self.status, expires: Self.remainingSeconds(until: self.expiresAt, now: now))
            return [.sendNotify(header, withState: self.status == .active)]
        }
    }

    public static func remainingSeconds(until deadline: SIPInstant, now: SIPInstant) -> Int {
        let remaining = deadline - now
        let seconds = remaining.components.seconds + (remaining.components.attoseconds > 0 ? 1 : 0)
        return max(0, Int(seconds))
    }
}
