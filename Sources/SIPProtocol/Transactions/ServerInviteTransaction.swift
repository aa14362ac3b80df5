/// The INVITE server transaction of RFC 3261 §17.2.1 as amended by RFC 6026 §7.1 and
/// §8.5-8.7 (RFC 6026 Figure 7), as a pure state machine.
///
/// The engine creates one when an INVITE matches no server transaction (RFC 3261
/// §17.2.3), calls `start(now:)` — which asks for a 100 (Trying) at once, as a proxy
/// must not wait the 200 ms RFC 3261 §17.2.1 allows — and passes the INVITE to the TU.
/// The machine never touches a message: the engine keeps the latest response.
///
/// - A 2xx moves to `accepted` (RFC 6026) for Timer L: INVITE retransmissions are
///   absorbed without a resend, because the TU (a UAS core) retransmits its 2xx itself
///   and passes each retransmission through `responseSent`.
/// - A 300-699 moves to `completed`: Timer G retransmits it (unreliable transports),
///   Timer H gives up waiting for the ACK; the ACK moves to `confirmed` for Timer I.
public struct ServerInviteTransaction: Sendable {
    /// The states of RFC 6026 Figure 7.
    public enum State: Sendable, Equatable {
        /// The INVITE is with the TU; provisional responses may have been sent.
        case proceeding
        /// A 2xx has been sent; Timer L is running (RFC 6026 §8.7).
        case accepted
        /// A 300-699 has been sent; waiting for the ACK under Timers G and H.
        case completed
        /// The ACK arrived; Timer I absorbs its retransmissions.
        case confirmed
        /// The transaction is over and must leave the transaction table.
        case terminated
    }

    /// What the engine must do.
    public enum Action: Sendable, Equatable {
        /// Send a 100 (Trying) for the INVITE; it becomes the latest response
        /// (RFC 3261 §17.2.1).
        case sendTrying
        /// Transmit the response the TU just passed in; it becomes the latest response.
        case sendResponse
        /// Transmit the latest response again: an INVITE retransmission was absorbed, or
        /// Timer G fired (RFC 3261 §17.2.1).
        case resendLastResponse
        /// Pass an ACK matching the transaction in `accepted` to the TU (RFC 6026 §8.7).
        case passAckToTU
        /// Arm `timer` to call `timerFired(_:now:)` at the given instant.
        case scheduleTimer(TransactionTimer, at: SIPInstant)
        /// The armed timer of this name no longer matters; the engine may drop it.
        case cancelTimer(TransactionTimerName)
        /// Timer H fired without an ACK: tell the TU the transaction failed
        /// (RFC 3261 §17.2.1).
        case notifyTimeout
        /// Tell the TU that a send failed (RFC 3261 §17.2.4).
        case notifyTransportError
        /// Remove the transaction from the transaction table; it is terminated.
        case terminate
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the INVITE arrived over a reliable transport (TCP, TLS, SCTP, WebSocket).
    public let reliableTransport: Bool
    /// The timer values in use.
    public let settings: TransactionTimerSettings
    private var timers: ArmedTransactionTimers
    private var hasSentResponse: Bool
    private var timerGInterval: Duration

    /// Creates the transaction in `proceeding`, as the INVITE is passed to the TU.
    public init(reliableTransport: Bool, settings: TransactionTimerSettings = TransactionTimerSettings()) {
        self.state = .proceeding
        self.reliableTransport = reliableTransport
        self.settings = settings
        self.timers = ArmedTransactionTimers()
        self.hasSentResponse = false
        self.timerGInterval = settings.timerGInitial
    }

    /// Starts the transaction: returns `[.sendTrying]` (RFC 3261 §17.2.1), or nothing if
    /// a response has already been sent or the transaction was started before.
    public mutating func start(now: SIPInstant) -> [Action] {
        guard self.state == .proceeding, !self.hasSentResponse else {
            return []
        }
        self.hasSentResponse = true
        return [.sendTrying]
    }

    /// A retransmission of the INVITE arrived (RFC 3261 §17.2.1, RFC 6026 §8.7): the
    /// latest response is sent again in `proceeding` and `completed`; in `accepted` and
    /// `confirmed` the retransmission is absorbed.
    public mutating func requestRetransmitted(now: SIPInstant) -> [Action] {
        switch self.state {
        case .proceeding:
            return self.hasSentResponse ? [.resendLastResponse] : []
        case .completed:
            return [.resendLastResponse]
        case .accepted, .confirmed, .terminated:
            return []
        }
    }

    /// The TU passes a response with `statusCode` to the transaction for sending.
    ///
    /// In `proceeding`: 1xx is sent; 2xx is sent and moves to `accepted` with Timer L
    /// (RFC 6026 §8.5); 300-699 is sent and moves to `completed` with Timer G (unreliable
    /// transports) and Timer H (RFC 3261 §17.2.1). In `accepted` further 2xx responses
    /// (the TU's retransmissions) are sent (RFC 6026 §8.7). Anything else, and status
    /// codes outside 100-699, is discarded.
    public mutating func responseSent(statusCode: Int, now: SIPInstant) -> [Action] {
        guard (100...699).contains(statusCode) else {
            return []
        }
        switch self.state {
        case .proceeding:
            self.hasSentResponse = true
            var actions: [Action] = [.sendResponse]
            if statusCode >= 300 {
                self.state = .completed
                if !self.reliableTransport {
                    self.timerGInterval = self.settings.timerGInitial
                    self.schedule(.g, at: now + self.timerGInterval, into: &actions)
                }
                self.schedule(.h, at: now + self.settings.timerH, into: &actions)
            } else if statusCode >= 200 {
                self.state = .accepted
                self.schedule(.l, at: now + self.settings.timerL, into: &actions)
            }
            return actions
        case .accepted:
            return (200...299).contains(statusCode) ? [.sendResponse] : []
        case .completed, .confirmed, .terminated:
            return []
        }
    }

    /// An ACK matching the transaction arrived. In `completed` it moves to `confirmed`,
    /// stopping Timers G and H and starting Timer I, which is zero on reliable transports
    /// so the transaction terminates at once (RFC 3261 §17.2.1). In `accepted` the ACK
    /// goes to the TU (RFC 6026 §8.7); in `confirmed` it is absorbed.
    public mutating func ackReceived(now: SIPInstant) -> [Action] {
        switch self.state {
        case .completed:
            var actions: [Action] = []
            self.cancel(.g, into: &actions)
            self.cancel(.h, into: &actions)
            if self.reliableTransport {
                self.enterTerminated(into: &actions)
            } else {
                self.state = .confirmed
                self.schedule(.i, at: now + self.settings.timerI, into: &actions)
            }
            return actions
        case .accepted:
            return [.passAckToTU]
        case .proceeding, .confirmed, .terminated:
            return []
        }
    }

    /// A timer scheduled by this transaction fired; stale timers produce no actions.
    ///
    /// - Timer G (`completed`): resend the final response and re-arm G at twice the
    ///   interval, at most T2 (RFC 3261 §17.2.1).
    /// - Timer H (`completed`): no ACK came; tell the TU and terminate (RFC 3261 §17.2.1).
    /// - Timer I (`confirmed`) and Timer L (`accepted`, RFC 6026 §8.7): terminate.
    public mutating func timerFired(_ timer: TransactionTimer, now: SIPInstant) -> [Action] {
        guard self.timers.consume(timer) else {
            return []
        }
        var actions: [Action] = []
        switch (self.state, timer.name) {
        case (.completed, .g):
            actions.append(.resendLastResponse)
            self.timerGInterval = min(self.timerGInterval * 2, self.settings.t2)
            self.schedule(.g, at: now + self.timerGInterval, into: &actions)
        case (.completed, .h):
            actions.append(.notifyTimeout)
            self.enterTerminated(into: &actions)
        case (.confirmed, .i), (.accepted, .l):
            self.enterTerminated(into: &actions)
        default:
            break
        }
        return actions
    }

    /// The transport failed to send a response of this transaction (RFC 3261 §17.2.4):
    /// in `proceeding` and `completed` the TU is told and the transaction terminates; in
    /// `accepted` the TU is told and the transaction stays for Timer L (RFC 6026 §8.7).
    /// Nothing is sent in `confirmed`, so there is nothing to fail.
    public mutating func transportFailed(now: SIPInstant) -> [Action] {
        switch self.state {
        case .proceeding, .completed:
            var actions: [Action] = [.notifyTransportError]
            self.enterTerminated(into: &actions)
            return actions
        case .accepted:
            return [.notifyTransportError]
        case .confirmed, .terminated:
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
        for name in [TransactionTimerName.g, .h, .i, .l] {
            self.cancel(name, into: &actions)
        }
        self.state = .terminated
        actions.append(.terminate)
    }
}
