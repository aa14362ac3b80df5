import NIOCore
import SIPProtocol

/// The engine's timers: every transaction and subscription arms several (RFC 3261 Timers E, F,
/// J, K…; subscription expiry), and most never fire. NIO's scheduled tasks are cheap to arm but
/// cancelling one is linear in the number armed, which dominated fan-out profiles. Here arming
/// is O(1) into 10 ms buckets and nothing is ever cancelled: the state machines ignore a timer
/// that no longer applies (its generation is stale), so a fired stale timer costs one lookup.
final class TimerWheel {
    typealias Action = () -> Void

    enum Entry {
        case action(Action)
        /// A client non-INVITE transaction's timer (E or F, two per NOTIFY over UDP), kept as
        /// data rather than a closure: no allocation per timer, and the handler looks the
        /// transaction up by branch when it fires.
        case clientTransaction(branch: String, timer: TransactionTimer)
    }

    static let resolutionNanoseconds: UInt64 = 10_000_000
    static let ticksPerSecond: UInt64 = 100
    static let coarseAfterTicks: UInt64 = 60 * 100
    private var buckets: [UInt64: [Entry]] = [:]
    /// Runs `.clientTransaction` entries.
    var clientTransactionTimerFired: (String, TransactionTimer) -> Void = { _, _ in }
    /// The first tick not yet processed.
    private var nextTick: UInt64
    private(set) var armedCount = 0

    init(now: NIODeadline) {
        self.nextTick = now.uptimeNanoseconds / Self.resolutionNanoseconds
    }

    /// Runs `action` at `deadline` or up to one resolution later, never earlier.
    func schedule(at deadline: NIODeadline, _ action: @escaping Action) {
        self.schedule(.action(action), at: deadline)
    }

    func scheduleClientTransactionTimer(_ timer: TransactionTimer, branch: String, at deadline: NIODeadline) {
        self.schedule(.clientTransaction(branch: branch, timer: timer), at: deadline)
    }

    private func schedule(_ entry: Entry, at deadline: NIODeadline) {
        let resolution = Self.resolutionNanoseconds
        var tick = max(self.nextTick, (deadline.uptimeNanoseconds + resolution - 1) / resolution)
        if tick > self.nextTick + Self.coarseAfterTicks {
            // Far timers (subscription and publication expiry) share one bucket per second:
            // up to a second late, and far fewer buckets to keep.
            tick = (tick + Self.ticksPerSecond - 1) / Self.ticksPerSecond * Self.ticksPerSecond
        }
        self.buckets[tick, default: []].append(entry)
        self.armedCount += 1
    }

    /// Gives back the bucket table's capacity after a burst of timers has passed.
    func compact() {
        self.buckets.releaseUnusedCapacity()
    }

    /// Fires everything due at `now`, in deadline order.
    func advance(to now: NIODeadline) {
        let current = now.uptimeNanoseconds / Self.resolutionNanoseconds
        while self.nextTick <= current {
            let tick = self.nextTick
            self.nextTick += 1
            guard let entries = self.buckets.removeValue(forKey: tick) else { continue }
            self.armedCount -= entries.count
            for entry in entries {
                switch entry {
                case .action(let action): action()
                case .clientTransaction(let branch, let timer): self.clientTransactionTimerFired(branch, timer)
                }
            }
        }
    }
}
