/// The base timer values of RFC 3261 §17 and the transaction timers derived from them.
///
/// RFC 3261 Table 4 (Appendix A) defines every transaction timer in terms of T1, T2
/// and T4; RFC 6026 §8.4 and §8.7 add Timers L and M. The derived properties give the
/// values for unreliable transports. On reliable transports the transaction machines
/// start no retransmission timers (A, E, G) and treat Timers D, I, J and K as zero,
/// terminating at once instead of scheduling them (RFC 3261 §17.1.1.2, §17.1.2.2,
/// §17.2.1, §17.2.2).
public struct TransactionTimerSettings: Sendable, Equatable {
    /// T1, the round-trip time estimate (RFC 3261 §17.1.1.1; default 500 ms).
    ///
    /// Must be positive: the retransmission timers start at T1 and double from it.
    public var t1: Duration
    /// T2, the maximum retransmit interval for non-INVITE requests and INVITE
    /// responses (RFC 3261 §17.1.2.2, §17.2.1; default 4 s).
    public var t2: Duration
    /// T4, the maximum time a message stays in the network (RFC 3261 §17.1.2.2;
    /// default 5 s).
    public var t4: Duration

    /// Creates settings with the RFC 3261 §17.1.1.1 defaults unless told otherwise.
    public init(
        t1: Duration = .milliseconds(500),
        t2: Duration = .seconds(4),
        t4: Duration = .seconds(5)
    ) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
    }

    /// 64*T1: the transaction timeout shared by Timers B, F, H, J, L and M.
    public var transactionTimeout: Duration {
        self.t1 * 64
    }

    /// Timer A's first interval, T1; it then doubles without bound (RFC 3261 §17.1.1.2).
    public var timerAInitial: Duration {
        self.t1
    }

    /// Timer B, the INVITE transaction timeout: 64*T1 (RFC 3261 §17.1.1.2).
    public var timerB: Duration {
        self.transactionTimeout
    }

    /// Timer D, the wait for response retransmits on unreliable transports:
    /// at least 32 s, here max(32 s, 64*T1) (RFC 3261 §17.1.1.2, Table 4).
    public var timerD: Duration {
        max(.seconds(32), self.transactionTimeout)
    }

    /// Timer E's first interval, T1; it then doubles up to T2 (RFC 3261 §17.1.2.2).
    public var timerEInitial: Duration {
        self.t1
    }

    /// Timer F, the non-INVITE transaction timeout: 64*T1 (RFC 3261 §17.1.2.2).
    public var timerF: Duration {
        self.transactionTimeout
    }

    /// Timer G's first interval, T1; it then doubles up to T2 (RFC 3261 §17.2.1).
    public var timerGInitial: Duration {
        self.t1
    }

    /// Timer H, the wait for ACK receipt: 64*T1 (RFC 3261 §17.2.1).
    public var timerH: Duration {
        self.transactionTimeout
    }

    /// Timer I, the wait for ACK retransmits on unreliable transports: T4 (RFC 3261 §17.2.1).
    public var timerI: Duration {
        self.t4
    }

    /// Timer J, the wait for non-INVITE request retransmits on unreliable
    /// transports: 64*T1 (RFC 3261 §17.2.2).
    public var timerJ: Duration {
        self.transactionTimeout
    }

    /// Timer K, the wait for response retransmits on unreliable transports: T4
    /// (RFC 3261 §17.1.2.2).
    public var timerK: Duration {
        self.t4
    }

    /// Timer L, the wait for accepted INVITE request retransmits: 64*T1 on every
    /// transport (RFC 6026 §8.7).
    public var timerL: Duration {
        self.transactionTimeout
    }

    /// Timer M, the wait for retransmitted 2xx responses: 64*T1 on every transport
    /// (RFC 6026 §8.4).
    public var timerM: Duration {
        self.transactionTimeout
    }
}
