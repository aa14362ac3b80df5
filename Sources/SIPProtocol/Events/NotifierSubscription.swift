/// One subscription as its notifier sees it (RFC 6665 §4.2), as a pure state machine. The
/// engine owns the dialog and bodies; this decides when a NOTIFY goes out, with which
/// Subscription-State, and when the subscription ends.
///
/// Ordering rules (RFC 6665 §4.2.1, §4.2.2): the 200 to a SUBSCRIBE comes before its NOTIFY;
/// one NOTIFY is in flight at a time, and state that changes meanwhile is sent once, as the
/// latest state, when it completes; a terminated NOTIFY is the last one.
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
    }

    public enum NotifierTimerKind: Sendable, Equatable { case expiry, retry }

    public struct NotifierTimer: Sendable, Hashable {
        public var kind: NotifierTimerKind
        public var generation: UInt64
    }

    public private(set) var status: SubscriptionStatus
    public private(set) var authorization: SubscriptionAuthorization
    public private(set) var expiresAt: SIPInstant
    public private(set) var terminationReason: TerminationReason?
    private var notifyInFlight = false
    private var notifyPending = false
    private var finalNotifySent = false
    private var generation: UInt64 = 0
    private var expiryTimer: UInt64 = 0
    private var retryTimer: UInt64 = 0

    /// RFC 6665 §4.2.2: a 503 with Retry-After is retried at most this often before giving up.
    public static let maximumRetries = 3
    private var retries = 0

    public init(authorization: SubscriptionAuthorization, expiresAt: SIPInstant) {
        self.authorization = authorization
        self.status = Self.status(for: authorization)
        self.expiresAt = expiresAt
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

    /// A subscription restored from the store after a restart: its expiry timer runs again; no
    /// NOTIFY goes out until its state changes.
    public mutating func resume() -> [Action] {
        guard self.status != .terminated else { return [] }
        return [self.armExpiry()]
    }

    /// A refreshing SUBSCRIBE in the dialog (RFC 6665 §4.2.1.2): new expiry, 200, and a NOTIFY.
    public mutating func refresh(expires: Int, expiresAt: SIPInstant, now: SIPInstant) -> [Action] {
        guard self.status != .terminated else { return [.respond(status: 481, expires: 0)] }
        self.expiresAt = expiresAt
        var actions: [Action] = [.respond(status: 200, expires: expires), self.armExpiry(), .persist]
        actions += self.notify(now: now)
        return actions
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
        guard self.status != .terminated, authorization != self.authorization else { return [] }
        self.authorization = authorization
        switch authorization {
        case .reject:
            return self.terminate(reason: .rejected, now: now)
        case .allow, .politeBlock, .pending:
            self.status = Self.status(for: authorization)
            return [.persist] + self.notify(now: now)
        }
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
            if self.finalNotifySent { return [.remove] }
            if self.notifyPending {
                self.notifyPending = false
                return self.notify(now: now)
            }
            return []
        case .some(503) where retryAfter != nil && self.retries < Self.maximumRetries && !self.finalNotifySent:
            // Try again after the peer's Retry-After; state changed meanwhile goes with it.
            self.retries += 1
            self.generation += 1
            self.retryTimer = self.generation
            self.notifyPending = true
            self.notifyInFlight = true
            return [.scheduleTimer(NotifierTimer(kind: .retry, generation: self.generation), at: now + .seconds(retryAfter ?? 0))]
        default:
            // 481, a timeout, 408 and every other failure end the subscription without another
            // NOTIFY: the dialog can no longer be trusted (RFC 6665 §4.2.2, RFC 5057 §5.1).
            self.status = .terminated
            self.finalNotifySent = true
            return [.remove]
        }
    }

    /// Whether `timer` is the one currently armed for its kind (others are stale).
    public func isCurrent(_ timer: NotifierTimer) -> Bool {
        switch timer.kind {
        case .expiry: return timer.generation == self.expiryTimer
        case .retry: return timer.generation == self.retryTimer
        }
    }

    public mutating func timerFired(_ timer: NotifierTimer, now: SIPInstant) -> [Action] {
        switch timer.kind {
        case .expiry:
            guard timer.generation == self.expiryTimer, self.status != .terminated else { return [] }
            return self.terminate(reason: .timeout, now: now)
        case .retry:
            guard timer.generation == self.retryTimer else { return [] }
            self.notifyInFlight = false
            self.notifyPending = false
            return self.notify(now: now)
        }
    }

    private mutating func armExpiry() -> Action {
        self.generation += 1
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

    static func remainingSeconds(until deadline: SIPInstant, now: SIPInstant) -> Int {
        let remaining = deadline - now
        let seconds = remaining.components.seconds + (remaining.components.attoseconds > 0 ? 1 : 0)
        return max(0, Int(seconds))
    }
}
