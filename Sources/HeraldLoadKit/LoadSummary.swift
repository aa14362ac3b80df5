import Foundation

/// What one load run did: offered and completed requests, failures by status code, timeouts,
/// retransmissions and the latency distribution, as a table and as JSON.
public struct LoadSummary: Sendable {
    public var scenario: String
    public var durationSeconds: Double
    public var attempted = 0
    public var completed = 0
    public var failuresByStatus: [Int: Int] = [:]
    public var timeouts = 0
    public var retransmissions = 0
    public var latency = LatencyHistogram()
    /// Extra figures a scenario reports (notifies received, first-NOTIFY latency, memory...).
    public var extra: [String: Double] = [:]

    public init(scenario: String, durationSeconds: Double) {
        self.scenario = scenario
        self.durationSeconds = durationSeconds
    }

    public var failures: Int { self.failuresByStatus.values.reduce(0, +) + self.timeouts }

    /// Every figure by name, latencies in milliseconds.
    public var figures: [String: Double] {
        let seconds = max(self.durationSeconds, 1e-9)
        var out: [String: Double] = [
            "duration_s": self.durationSeconds, "attempted": Double(self.attempted), "completed": Double(self.completed),
            "attempted_per_s": Double(self.attempted) / seconds, "completed_per_s": Double(self.completed) / seconds,
            "failures": Double(self.failures), "timeouts": Double(self.timeouts), "retransmissions": Double(self.retransmissions),
            "failure_ratio": self.attempted == 0 ? 0 : Double(self.failures) / Double(self.attempted),
        ]
        for (name, fraction) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999), ("max", 1.0)] {
            if let value = self.latency.percentile(fraction) { out["latency_\(name)_ms"] = Double(value) / 1000 }
        }
        for (status, count) in self.failuresByStatus { out["failed_\(status)"] = Double(count) }
        for (name, value) in self.extra { out[name] = value }
        return out
    }

    /// A two-column table, one figure per line, sorted by name.
    public var table: String {
        let figures = self.figures
        var lines = ["scenario".padding(toLength: 32, withPad: " ", startingAt: 0) + self.scenario.leftPadded(14)]
        for key in figures.keys.sorted() {
            lines.append(key.padding(toLength: 32, withPad: " ", startingAt: 0) + String(format: "%14.3f", figures[key] ?? 0))
        }
        return lines.joined(separator: "\n")
    }

    public func json() throws -> Data {
        var object: [String: Any] = ["scenario": self.scenario]
        for (key, value) in self.figures { object[key] = value }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// One progress line: `t=3s sent=300 ok=298 failed=0 in-flight=2`.
    public func progressLine(elapsed: Int, inFlight: Int) -> String {
        "t=\(elapsed)s sent=\(self.attempted) ok=\(self.completed) failed=\(self.failures) retrans=\(self.retransmissions) in-flight=\(inFlight)"
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        self.count >= width ? self : String(repeating: " ", count: width - self.count) + self
    }
}
