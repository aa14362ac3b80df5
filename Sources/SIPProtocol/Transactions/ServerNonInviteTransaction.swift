/// The non-INVITE server transaction of RFC 3261 §17.2.2 (Figure 8), as a pure state machine.
///
/// The engine creates one when a non-INVITE request (not ACK) matches no server
/// transaction (RFC 3261 §17.2.3), passes the request to the TU, and then reports
/// events: retransmissions of the request, responses from the TU, timer firings and
/// transport failures. The machine answers with actions and never touches a message:
/// the engine keeps the request and the latest response beside it.
///
/// Timeline: `trying` (nothing sent; retransmissions absorbed) → `proceeding` after a
/// provisional response → `completed` after a final response, where Timer J
/// (64*T1, zero on reliable transports) absorbs request retransmissions before the
/// transaction terminates.
public struct ServerNonInviteTransaction: Sendable {
    /// The states of RFC 3261 Figure 8.
    public enum State: Sendable, Equatable {
        /// The request has been passed to the TU; no response has been sent.
        case trying
        /// A provisional response has been sent.
        case proceeding
        /// A final response has been sent; Timer J is running.
        case completed
        /// The transaction is over and must leave the transaction table.
        case terminated
    }

    /// What the engine must do.
    public enum Action: Sendable, Equatable {
        /// Transmit the response the TU just passed in; it becomes the latest response.
        case sendResponse
        /// A request retransmission was absorbed: transmit the latest response again
        /// (RFC 3261 §17.2.2).
        case resendLastResponse
        /// Arm `timer` to call `timerFired(_:now:)` at the given instant.
        case scheduleTimer(TransactionTimer, at: SIPInstant)
        /// The armed timer of this name no longer matters; the engine may drop it.
        case cancelTimer(TransactionTimerName)
        /// Tell the TU that a send failed (RFC 3261 §17.2.4).
        case notifyTransportError
        /// Remove the transaction from the transaction table; it is terminated.
        case terminate
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the request arrived over a reliable transport (TCP, TLS, SCTP, WebSocket).
    public let reliableTransport: Bool
    /// Whether a final response leaves the transaction in `completed` until Timer J, to answer
    /// retransmitted requests (RFC 3261 §17.2.2). A TU that keeps the final response and
    /// answers retransmissions itself until Timer J (Herald's completed-response cache) ends
    /// the transaction at once instead.
    public let absorbsRequestRetransmissions: Bool
    /// The timer values in use.
    public let settings: TransactionTimerSettings
    private var timers: ArmedTransactionTimers

    /// Creates the transaction in `trying`, as the request is passed to the TU.
    public init(
        reliableTransport: Bool, settings: TransactionTimerSettings = TransactionTimerSettings(), absorbsRequestRetransmissions: Bool = true
    ) {
        self.state = .trying
        self.reliableTransport = reliableTransport
        self.absorbsRequestRetransmissions = absorbsRequestRetransmissions
        self.settings = settings
        self.timers = ArmedTransactionTimers()
    }

    /// Starts the transaction. A non-INVITE server transaction sends nothing until the
    /// TU responds (RFC 3261 §17.2.2), so this returns no actions; it exists so the
    /// engine starts all four transaction kinds alike.
    public mutating func start(now: SIPInstant) -> [Action] {
        []
    }

    /// A retransmission of the request arrived (RFC 3261 §17.2.2): absorbed silently in
    /// `trying`, answered with the latest response in `proceeding` and `completed`.
    public mutating func requestRetransmitted(now: SIPInstant) -> [Action] {
        switch self.state {
        case .trying, .terminated:
            return []
        case .proceeding, .completed:
            return [.resendLastResponse]
        }
    }

    /// The TU passes a response with `statusCode` to the transaction for sending.
    ///
    /// In `trying` and `proceeding` a 1xx is sent and moves to `proceeding`; a final
    /// response (200-699) is sent and moves to `completed`, starting Timer J on an
    /// unreliable transport and terminating at once on a reliable one. Responses in
    /// `completed` are discarded (RFC 3261 §17.2.2), as are status codes outside 100-699.
    public mutating func responseSent(statusCode: Int, now: SIPInstant) -> [Action] {
        guard (100...699).contains(statusCode) else {
            return []
        }
        switch self.state {
        case .trying, .proceeding:
            if statusCode < 200 {
                self.state = .proceeding
                return [.sendResponse]
            }
            var actions: [Action] = [.sendResponse]
            if self.reliableTransport || !self.absorbsRequestRetransmissions {
                self.enterTerminated(into: &actions)
            } else {
                self.state = .completed
                self.schedule(.j, at: now + self.settings.timerJ, into: &actions)
            }
            return actions
        case .completed, .terminated:
            return []
        }
    }

    /// A timer scheduled by this transaction fired. Timer J in `completed` terminates the
    /// transaction (RFC 3261 §17.2.2); stale timers produce no actions.
    public mutating func timerFired(_ timer: TransactionTimer, now: SIPInstant) -> [Action] {
        guard self.timers.consume(timer) else {
            return []
        }
        switch (self.state, timer.name) {
        case (.completed, .j):
            var actions: [Action] = []
            self.enterTerminated(into: &actions)
            return actions
        default:
            return []
        }
    }

    /// The transport failed to send a response of this transaction (RFC 3261 §17.2.4):
    /// in `proceeding` and `completed` the TU is told and the transaction terminates.
    /// In `trying` nothing has been sent, so there is nothing to fail.
    public mutating func transportFailed(now: SIPInstant) -> [Action] {
        switch self.state {
        case .proceeding, .completed:
            var actions: [Action] = [.notifyTransportError]
            self.enterTerminated(into: &actions)
            return actions
        case .trying, .terminated:
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

    private mutating func enterTerminated(into actions: inout [Action]) {
        if self.timers.disarm(.j) {
            actions.append(.cancelTimer(.j))
        }
        self.state = .terminated
        actions.append(.terminate)
    }
}
