/// A point in monotonic time, counted in nanoseconds from an origin the engine chooses.
///
/// Protocol state machines never read a clock: every event carries `now:` as a
/// `SIPInstant`, and every timer they ask for carries the instant it is due. The
/// engine maps instants to and from its own clock (an event loop's `NIODeadline`,
/// a manual clock in tests), so the machines stay pure and run on virtual time.
///
/// Arithmetic saturates at the bounds of `Int64` instead of trapping.
public struct SIPInstant: Sendable, Hashable, Comparable {
    /// Nanoseconds elapsed since the engine's origin.
    public var nanosecondsSinceStart: Int64

    /// Creates the instant `nanoseconds` after the engine's origin.
    public init(nanoseconds: Int64) {
        self.nanosecondsSinceStart = nanoseconds
    }

    /// The engine's origin.
    public static var zero: SIPInstant {
        SIPInstant(nanoseconds: 0)
    }

    /// Orders instants from earlier to later.
    public static func < (lhs: SIPInstant, rhs: SIPInstant) -> Bool {
        lhs.nanosecondsSinceStart < rhs.nanosecondsSinceStart
    }

    /// The instant `rhs` after `lhs` (before it when `rhs` is negative).
    public static func + (lhs: SIPInstant, rhs: Duration) -> SIPInstant {
        let (sum, overflow) = lhs.nanosecondsSinceStart.addingReportingOverflow(rhs.saturatedNanoseconds)
        if overflow {
            return SIPInstant(nanoseconds: rhs < .zero ? Int64.min : Int64.max)
        }
        return SIPInstant(nanoseconds: sum)
    }

    /// The time from `rhs` to `lhs`: positive when `lhs` is later.
    public static func - (lhs: SIPInstant, rhs: SIPInstant) -> Duration {
        let (difference, overflow) = lhs.nanosecondsSinceStart.subtractingReportingOverflow(
            rhs.nanosecondsSinceStart
        )
        if overflow {
            return .nanoseconds(lhs < rhs ? Int64.min : Int64.max)
        }
        return .nanoseconds(difference)
    }
}

extension SIPInstant: CustomStringConvertible {
    /// The offset from the origin, e.g. `+1.5 seconds`.
    public var description: String {
        "+\(Duration.nanoseconds(self.nanosecondsSinceStart))"
    }
}

extension Duration {
    /// This duration in whole nanoseconds (truncated), clamped to the range of `Int64`.
    var saturatedNanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow {
            return seconds < 0 ? Int64.min : Int64.max
        }
        let (total, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow {
            return seconds < 0 ? Int64.min : Int64.max
        }
        return total
    }
}
