/// Latency samples in microseconds with exact percentiles (bounded runs keep every sample).
struct LatencyRecorder {
    private(set) var samples: [Int64] = []

    mutating func record(microseconds: Int64) { self.samples.append(max(0, microseconds)) }

    func percentile(_ fraction: Double) -> Int64? {
        guard !self.samples.isEmpty else { return nil }
        let sorted = self.samples.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    var count: Int { self.samples.count }
}

/// Open-loop pacing: the n-th send is due at start + n/rate whatever happened before, so a
/// slow server cannot slow the offered load (no coordinated omission).
struct OpenLoopPacer {
    let start: UInt64
    let intervalNanoseconds: Double
    private(set) var sent: Int = 0

    init(startNanoseconds: UInt64, ratePerSecond: Double) {
        self.start = startNanoseconds
        self.intervalNanoseconds = 1e9 / ratePerSecond
    }

    /// How many sends are due at `now`.
    mutating func due(now: UInt64) -> Int {
        guard now >= self.start else { return 0 }
        let shouldHaveSent = Int(Double(now - self.start) / self.intervalNanoseconds) + 1
        let due = max(0, shouldHaveSent - self.sent)
        self.sent += due
        return due
    }
}
