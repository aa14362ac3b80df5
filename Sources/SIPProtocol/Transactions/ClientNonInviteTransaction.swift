/// The non-INVITE client transaction of RFC 3261 §17.1.2 (Figure 6), as a pure state machine.
///
/// The TU hands the engine a non-INVITE request (not ACK); the engine creates this
/// machine, calls `start(now:)` — which sends the request and arms Timers E and F —
/// and then reports responses, timer firings and transport failures. The machine never
/// touches a message: the engine keeps the request beside it.
///
/// Timeline: `trying` → `proceeding` on a 1xx → `completed` on a final response, where
/// Timer K (T4, zero on reliable transports) absorbs response retransmissions. Timer F
/// (64*T1) ends `trying` and `proceeding` with a timeout.
public struct ClientNonInviteTransaction: Sendable {
    /// The states of RFC 3261 Figure 6.
    public enum State: Sendable, Equatable {
        /// The request has been sent; no response yet.
        case trying
        /// A provisional response has arrived.
        case proceeding
        /// A final response has arrived; Timer K is running.
        case completed
        /// The transaction is over and must leave the transaction table.
        case terminated
    }

    /// What the engine must do.
    public enum Action: Sendable, Equatable {
        /// Send the request for the first time.
        case sendRequest
        /// Timer E fired: send the request again (RFC 3261 §17.1.2.2).
        case retransmitRequest
        /// Pass the response just reported to the TU.
        case passResponseToTU
        /// Arm `timer` to call `timerFired(_:now:)` at the given instant.
        case scheduleTimer(TransactionTimer, at: SIPInstant)
        /// The armed timer of this name no longer matters; the engine may drop it.
        case cancelTimer(TransactionTimerName)
        /// Timer F fired: tell the TU of the timeout, treated as a 408 (RFC 3261 §17.1.2.2).
        case notifyTimeout
        /// Tell the TU that sending the request failed (RFC 3261 §17.1.4).
        case notifyTransportError
        /// Remove the transaction from the transaction table; it is terminated.
        case terminate
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the request goes over a reliable transport (TCP, TLS, SCTP, WebSocket).
    public let reliableTransport: Bool
    /// Whether a final response leaves the transaction in `completed` for Timer K to absorb
    /// retransmitted responses (RFC 3261 §17.1.2.2). A TU that drops stray responses anyway
    /// (a notifier's NOTIFYs) may end the transaction at once instead and keep no timer.
    public let absorbsResponseRetransmissions: Bool
    /// The timer values in use.
    public let settings: TransactionTimerSettings
    private var timers: ArmedTransactionTimers
    private var started: Bool
    private var timerEInterval: Duration

    /// Creates the transaction in `trying`; nothing happens until `start(now:)`.
    public init(
        reliableTransport: Bool, settings: TransactionTimerSettings = TransactionTimerSettings(), absorbsResponseRetransmissions: Bool = true
    ) {
        self.state = .trying
        self.reliableTransport = reliableTransport
        self.absorbsResponseRetransmissions = absorbsResponseRetransmissions
        self.settings = settings
        self.timers = ArmedTransactionTimers()
        self.started = false
        self.timerEInterval = settings.timerEInitial
    }

    /// Starts the transaction: send the request, arm Timer E at T1 on an unreliable
    /// transport, and arm Timer F at 64*T1 (RFC 3261 §17.1.2.2). A second call does nothing.
    public mutating func start(now: SIPInstant) -> [Action] {
        guard self.state == .trying, !self.started else {
            return []
        }
        self.started = true
        var actions: [Action] = [.sendRequest]
        if !self.reliableTransport {
            self.timerEInterval = self.settings.timerEInitial
            self.schedule(.e, at: now + self.timerEInterval, into: &actions)
        }
        self.schedule(.f, at: now + self.settings.timerF, into: &actions)
        return actions
    }

    /// A response with `statusCode` matched the transaction (RFC 3261 §17.1.2.2).
    ///
    /// In `trying` and `proceeding` a 1xx goes to the TU and moves to `proceeding`; a
    /// final response goes to the TU and moves to `completed`, stopping Timers E and F
    /// and arming Timer K on an unreliable transport (terminating at once on a reliable
    /// one). Responses in `completed` are absorbed, as are status codes outside 100-699.
    public mutating func responseReceived(statusCode: Int, now: SIPInstant) -> [Action] {
        guard (100...699).contains(statusCode) else {
            return []
        }
        switch self.state {
        case .trying, .proceeding:
            var actions: [Action] = [.passResponseToTU]
            if statusCode < 200 {
                self.state = .proceeding
                return actions
            }
            self.cancel(.e, into: &actions)
            self.cancel(.f, into: &actions)
            if self.reliableTransport || !self.absorbsResponseRetransmissions {
                self.enterTerminated(into: &actions)
            } else {
                self.state = .completed
                self.schedule(.k, at: now + self.settings.timerK, into: &actions)
            }
            return actions
        case .completed, .terminated:
            return []
        }
    }

    /// A timer scheduled by this transaction fired; stale timers produce no actions.
    ///
    /// - Timer E: retransmit the request and re-arm E, in `trying` at twice the interval
    ///   up to T2, in `proceeding` at T2 (RFC 3261 §17.1.2.2).
    /// - Timer F (`trying`, `proceeding`): tell the TU of the timeout and terminate.
    /// - Timer K (`completed`): terminate.
    public mutating func timerFired(_ timer: TransactionTimer, now: SIPInstant) -> [Action] {
        guard self.timers.consume(timer) else {
            return []
        }
        var actions: [Action] = []
        switch (self.state, timer.name) {
        case (.trying, .e):
            actions.append(.retransmitRequest)
            self.timerEInterval = min(self.timerEInterval * 2, self.settings.t2)
            self.schedule(.e, at: now + self.timerEInterval, into: &actions)
        case (.proceeding, .e):
            actions.append(.retransmitRequest)
            self.timerEInterval = self.settings.t2
            self.schedule(.e, at: now + self.timerEInterval, into: &actions)
        case (.trying, .f), (.proceeding, .f):
            actions.append(.notifyTimeout)
            self.enterTerminated(into: &actions)
        case (.completed, .k):
            self.enterTerminated(into: &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send the request (RFC 3261 §17.1.4): in `trying` and
    /// `proceeding` the TU is told and the transaction terminates. Nothing is sent in
    /// `completed`, so there is nothing to fail.
    public mutating func transportFailed(now: SIPInstant) -> [Action] {
        switch self.state {
        case .trying, .proceeding:
            var actions: [Action] = [.notifyTransportError]
            self.enterTerminated(into: &actions)
            return actions
        case .completed, .terminated:
            return []
        }
    }

    private mutating func schedule(
        _ name: TransactionTimerName,
        at deadline: SIPInstant,
        into actions: inout [Action]
    ) {
        actions.append(.scheduleTimer(self.timers.arm(name), at: deadline))
    }

    private mutating func cancel(_ name: TransactionTimerName, into actions: inout [Action]) {
        if self.timers.disarm(name) {
            actions.append(.cancelTimer(name))
        }
    }

    private mutating func enterTerminated(into actions: inout [Action]) {
        for name in [TransactionTimerName.e, .f, .k] {
            self.cancel(name, into: &actions)
        }
        self.state = .terminated
        actions.append(.terminate)
    }
}
