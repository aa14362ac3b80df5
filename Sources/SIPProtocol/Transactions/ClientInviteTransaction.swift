/// The INVITE client transaction of RFC 3261 §17.1.1 as amended by RFC 6026 §7.2 and
/// §8.4 (RFC 6026 Figure 5), as a pure state machine.
///
/// The TU hands the engine an INVITE; the engine creates this machine, calls
/// `start(now:)` — which sends the INVITE and arms Timers A and B — and then reports
/// responses, timer firings and transport failures. The machine never touches a
/// message: the engine keeps the INVITE and builds the ACK (RFC 3261 §17.1.1.3).
///
/// - `calling`: Timer A retransmits (unreliable transports), Timer B times out.
/// - A 1xx moves to `proceeding`, where nothing is retransmitted and nothing times out.
/// - A 300-699 moves to `completed`: the transaction ACKs it (and every retransmission
///   of it) and waits Timer D (32 s, zero on reliable transports).
/// - A 2xx moves to `accepted` (RFC 6026): it and every further 2xx go to the TU, which
///   ACKs them itself, until Timer M ends the transaction.
public struct ClientInviteTransaction: Sendable {
    /// The states of RFC 6026 Figure 5.
    public enum State: Sendable, Equatable {
        /// The INVITE has been sent; no response yet.
        case calling
        /// A provisional response has arrived.
        case proceeding
        /// A 300-699 has arrived and been ACKed; Timer D is running.
        case completed
        /// A 2xx has arrived; Timer M is running (RFC 6026 §8.4).
        case accepted
        /// The transaction is over and must leave the transaction table.
        case terminated
    }

    /// What the engine must do.
    public enum Action: Sendable, Equatable {
        /// Send the INVITE for the first time.
        case sendRequest
        /// Timer A fired: send the INVITE again (RFC 3261 §17.1.1.2).
        case retransmitRequest
        /// Pass the response just reported to the TU.
        case passResponseToTU
        /// Send an ACK for the 300-699 response just reported, built as RFC 3261
        /// §17.1.1.3 prescribes.
        case sendAck
        /// Arm `timer` to call `timerFired(_:now:)` at the given instant.
        case scheduleTimer(TransactionTimer, at: SIPInstant)
        /// The armed timer of this name no longer matters; the engine may drop it.
        case cancelTimer(TransactionTimerName)
        /// Timer B fired: tell the TU of the timeout, treated as a 408 (RFC 3261 §17.1.1.2).
        case notifyTimeout
        /// Tell the TU that sending the INVITE or ACK failed (RFC 3261 §17.1.4).
        case notifyTransportError
        /// Remove the transaction from the transaction table; it is terminated.
        case terminate
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the INVITE goes over a reliable transport (TCP, TLS, SCTP, WebSocket).
    public let reliableTransport: Bool
    /// The timer values in use.
    public let settings: TransactionTimerSettings
    private var timers: ArmedTransactionTimers
    private var started: Bool
    private var timerAInterval: Duration

    /// Creates the transaction in `calling`; nothing happens until `start(now:)`.
    public init(reliableTransport: Bool, settings: TransactionTimerSettings = TransactionTimerSettings()) {
        self.state = .calling
        self.reliableTransport = reliableTransport
        self.settings = settings
        self.timers = ArmedTransactionTimers()
        self.started = false
        self.timerAInterval = settings.timerAInitial
    }

    /// Starts the transaction: send the INVITE, arm Timer A at T1 on an unreliable
    /// transport, and arm Timer B at 64*T1 (RFC 3261 §17.1.1.2). A second call does nothing.
    public mutating func start(now: SIPInstant) -> [Action] {
        guard self.state == .calling, !self.started else {
            return []
        }
        self.started = true
        var actions: [Action] = [.sendRequest]
        if !self.reliableTransport {
            self.timerAInterval = self.settings.timerAInitial
            self.schedule(.a, at: now + self.timerAInterval, into: &actions)
        }
        self.schedule(.b, at: now + self.settings.timerB, into: &actions)
        return actions
    }

    /// A response with `statusCode` matched the transaction.
    ///
    /// - `calling`/`proceeding`: a 1xx goes to the TU and moves to `proceeding`, stopping
    ///   Timers A and B (RFC 3261 §17.1.1.2); a 2xx goes to the TU and moves to `accepted`
    ///   with Timer M (RFC 6026 §8.4); a 300-699 goes to the TU, is ACKed, and moves to
    ///   `completed` with Timer D, or terminates at once on a reliable transport.
    /// - `completed`: a retransmitted 300-699 is ACKed again, not passed up.
    /// - `accepted`: every further 2xx goes to the TU (RFC 6026 §8.4).
    ///
    /// Everything else, and status codes outside 100-699, is absorbed.
    public mutating func responseReceived(statusCode: Int, now: SIPInstant) -> [Action] {
        guard (100...699).contains(statusCode) else {
            return []
        }
        switch self.state {
        case .calling, .proceeding:
            var actions: [Action] = [.passResponseToTU]
            if statusCode >= 300 {
                actions.append(.sendAck)
            }
            self.cancel(.a, into: &actions)
            self.cancel(.b, into: &actions)
            if statusCode < 200 {
                self.state = .proceeding
            } else if statusCode < 300 {
                self.state = .accepted
                self.schedule(.m, at: now + self.settings.timerM, into: &actions)
            } else if self.reliableTransport {
                self.enterTerminated(into: &actions)
            } else {
                self.state = .completed
                self.schedule(.d, at: now + self.settings.timerD, into: &actions)
            }
            return actions
        case .completed:
            return statusCode >= 300 ? [.sendAck] : []
        case .accepted:
            return (200...299).contains(statusCode) ? [.passResponseToTU] : []
        case .terminated:
            return []
        }
    }

    /// A timer scheduled by this transaction fired; stale timers produce no actions.
    ///
    /// - Timer A (`calling`): retransmit the INVITE and re-arm A at twice the interval,
    ///   with no cap (RFC 3261 §17.1.1.2).
    /// - Timer B (`calling`): tell the TU of the timeout and terminate.
    /// - Timer D (`completed`) and Timer M (`accepted`, RFC 6026 §8.4): terminate.
    public mutating func timerFired(_ timer: TransactionTimer, now: SIPInstant) -> [Action] {
        guard self.timers.consume(timer) else {
            return []
        }
        var actions: [Action] = []
        switch (self.state, timer.name) {
        case (.calling, .a):
            actions.append(.retransmitRequest)
            self.timerAInterval = self.timerAInterval * 2
            self.schedule(.a, at: now + self.timerAInterval, into: &actions)
        case (.calling, .b):
            actions.append(.notifyTimeout)
            self.enterTerminated(into: &actions)
        case (.completed, .d), (.accepted, .m):
            self.enterTerminated(into: &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send the INVITE or the ACK (RFC 3261 §17.1.4): in
    /// `calling` and `completed` the TU is told and the transaction terminates. Nothing
    /// is sent in `proceeding` or `accepted` (the TU sends the ACK to a 2xx), so there is
    /// nothing to fail.
    public mutating func transportFailed(now: SIPInstant) -> [Action] {
        switch self.state {
        case .calling, .completed:
            var actions: [Action] = [.notifyTransportError]
            self.enterTerminated(into: &actions)
            return actions
        case .proceeding, .accepted, .terminated:
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
        for name in [TransactionTimerName.a, .b, .d, .m] {
            self.cancel(name, into: &actions)
        }
        self.state = .terminated
        actions.append(.terminate)
    }
}
