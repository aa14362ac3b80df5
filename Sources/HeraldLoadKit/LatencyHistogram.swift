import Histogram

/// Latencies in microseconds in an HDR histogram (3 significant digits, up to 120 s): fixed
/// memory whatever the run's length, exact enough for p99.9.
public struct LatencyHistogram: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func record(microseconds: Int64) {
        _ = self.histogram.record(UInt64(min(max(1, microseconds), 120_000_000)))
    }

    public var count: Int { Int(self.histogram.totalCount) }

    /// The value at `fraction` (0.5 for the median), in microseconds; nil when empty.
    public func percentile(_ fraction: Double) -> Int64? {
        guard self.count > 0 else { return nil }
        if fraction >= 1 { return Int64(self.histogram.max) }
        return Int64(self.histogram.valueAtPercentile(fraction * 100))
    }
}
