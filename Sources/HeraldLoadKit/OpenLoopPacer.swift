/// Open-loop pacing: the n-th send is due at start + n/rate whatever happened before, so a
/// slow server cannot slow the offered load (no coordinated omission). Latency is measured
/// from a request's due time, not from when the loop got round to sending it.
public struct OpenLoopPacer: Sendable {
    public let start: UInt64
    public let intervalNanoseconds: Double
    public private(set) var sent: Int = 0

    public init(startNanoseconds: UInt64, ratePerSecond: Double) {
        self.start = startNanoseconds
        self.intervalNanoseconds = 1e9 / ratePerSecond
    }

    /// How many sends are due at `now` (and counts them as sent).
    public mutating func due(now: UInt64) -> Int {
        guard now >= self.start else { return 0 }
        let shouldHaveSent = Int(Double(now - self.start) / self.intervalNanoseconds) + 1
        let due = max(0, shouldHaveSent - self.sent)
        self.sent += due
        return due
    }

    /// When the `index`-th send (from 0) was due.
    public func dueTime(of index: Int) -> UInt64 {
        self.start + UInt64(Double(index) * self.intervalNanoseconds)
    }
}
