/// RFC 3261 §17.1.2.2 for a non-INVITE request over UDP: resend after T1, doubling up to T2,
/// give up after 64·T1 (Timer F). Over TCP nothing is resent.
public struct RetransmissionSchedule: Sendable, Equatable {
    public var t1Nanoseconds: UInt64 = 500_000_000
    public var t2Nanoseconds: UInt64 = 4_000_000_000
    public var reliable: Bool

    public init(reliable: Bool, t1Milliseconds: UInt64 = 500) {
        self.reliable = reliable
        self.t1Nanoseconds = t1Milliseconds * 1_000_000
        self.t2Nanoseconds = min(4_000_000_000, self.t1Nanoseconds * 8)
    }

    /// When the request sent at `sentAt` is resent for the `attempt`-th time (1 = first resend);
    /// nil over a reliable transport.
    public func retransmitAt(sentAt: UInt64, attempt: Int) -> UInt64? {
        guard !self.reliable else { return nil }
        var at = sentAt
        var interval = self.t1Nanoseconds
        for _ in 0..<attempt {
            at += interval
            interval = min(interval * 2, self.t2Nanoseconds)
        }
        return at
    }

    /// When the transaction times out (Timer F = 64·T1).
    public func timeoutAt(sentAt: UInt64) -> UInt64 { sentAt + 64 * self.t1Nanoseconds }
}
