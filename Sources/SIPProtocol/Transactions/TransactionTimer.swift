/// The transaction timers of RFC 3261 §17 (Table 4) and RFC 6026 §8.
public enum TransactionTimerName: Sendable, Hashable, CaseIterable {
    /// INVITE request retransmission, unreliable transports (RFC 3261 §17.1.1.2).
    case a
    /// INVITE client transaction timeout (RFC 3261 §17.1.1.2).
    case b
    /// Wait for response retransmits after a non-2xx final response to an INVITE
    /// (RFC 3261 §17.1.1.2).
    case d
    /// Non-INVITE request retransmission, unreliable transports (RFC 3261 §17.1.2.2).
    case e
    /// Non-INVITE client transaction timeout (RFC 3261 §17.1.2.2).
    case f
    /// INVITE final response retransmission, unreliable transports (RFC 3261 §17.2.1).
    case g
    /// Wait for the ACK to a non-2xx final response (RFC 3261 §17.2.1).
    case h
    /// Wait for ACK retransmits (RFC 3261 §17.2.1).
    case i
    /// Wait for non-INVITE request retransmits (RFC 3261 §17.2.2).
    case j
    /// Wait for non-INVITE response retransmits (RFC 3261 §17.1.2.2).
    case k
    /// Wait for INVITE retransmits after a 2xx (RFC 6026 §8.7).
    case l
    /// Wait for 2xx retransmits after the first 2xx (RFC 6026 §8.4).
    case m
}

/// One scheduling of a transaction timer.
///
/// Every time a machine schedules a timer it gives it a fresh `generation`. The
/// engine hands the same value back to `timerFired(_:now:)`; a timer whose generation
/// is not the one currently armed for its name (it was cancelled, rescheduled, or
/// belongs to a state the transaction has left) produces no actions. The engine can
/// therefore drop `cancelTimer` actions without breaking anything.
public struct TransactionTimer: Sendable, Hashable {
    /// Which timer this is.
    public var name: TransactionTimerName
    /// The scheduling this firing belongs to; unique within one transaction.
    public var generation: UInt64

    /// Creates a timer value (machines make these; tests may forge stale ones).
    public init(name: TransactionTimerName, generation: UInt64) {
        self.name = name
        self.generation = generation
    }
}

/// The timers a transaction currently has armed, at most one generation per name.
///
/// No transaction in RFC 3261 §17 has more than two timers running at once, so three
/// inline slots hold them without allocating.
struct ArmedTransactionTimers: Sendable {
    private var lastGeneration: UInt64 = 0
    private var first: TransactionTimer?
    private var second: TransactionTimer?
    private var third: TransactionTimer?

    init() {}

    /// Arms `name` with a fresh generation, replacing any generation armed before.
    mutating func arm(_ name: TransactionTimerName) -> TransactionTimer {
        _ = self.disarm(name)
        self.lastGeneration &+= 1
        let timer = TransactionTimer(name: name, generation: self.lastGeneration)
        if self.first == nil {
            self.first = timer
        } else if self.second == nil {
            self.second = timer
        } else {
            assert(self.third == nil, "a transaction arms at most three timers at once")
            self.third = timer
        }
        return timer
    }

    /// Disarms `name`; returns whether it was armed.
    mutating func disarm(_ name: TransactionTimerName) -> Bool {
        if self.first?.name == name {
            self.first = nil
        } else if self.second?.name == name {
            self.second = nil
        } else if self.third?.name == name {
            self.third = nil
        } else {
            return false
        }
        return true
    }

    /// If `timer` is the armed generation of its name, disarms it and returns true;
    /// otherwise (a stale or unknown timer) changes nothing and returns false.
    mutating func consume(_ timer: TransactionTimer) -> Bool {
        if self.first == timer {
            self.first = nil
        } else if self.second == timer {
            self.second = nil
        } else if self.third == timer {
            self.third = nil
        } else {
            return false
        }
        return true
    }

    /// Whether some generation of `name` is armed.
    func isArmed(_ name: TransactionTimerName) -> Bool {
        self.first?.name == name || self.second?.name == name || self.third?.name == name
    }
}
