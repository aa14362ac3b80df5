import Metrics
import NIOCore
import SIPCore

/// The engine's counters and timers, through swift-metrics (the server bootstraps a Prometheus
/// backend; tests run with the no-op one). Metric objects are made once and kept, so the hot
/// path only increments. Confined to the engine loop.
final class EngineMetrics: @unchecked Sendable {
    private var requestCounters: [String: Counter] = [:]
    private let responseCounters: [Counter] = (1...6).map { Counter(label: "herald_sip_responses_total", dimensions: [("class", "\($0)xx")]) }
    private let notifyCounters: [Counter] = (0...6).map {
        Counter(label: "herald_notify_total", dimensions: [("result", $0 == 0 ? "timeout" : "\($0)xx")])
    }
    let publications = Counter(label: "herald_publish_total")
    /// From the moment a publication changed a presentity's state to the NOTIFY leaving for a
    /// watcher (queueing, composition and coalescing included).
    let publishToNotify = Metrics.Timer(label: "herald_publish_to_notify_seconds")

    func requestReceived(_ method: SIPMethod) {
        let name = method.isKnown ? method.rawValue : "other"
        if let counter = self.requestCounters[name] {
            counter.increment()
            return
        }
        let counter = Counter(label: "herald_sip_requests_total", dimensions: [("method", name)])
        self.requestCounters[name] = counter
        counter.increment()
    }

    func responseSent(status: Int) {
        let index = status / 100 - 1
        guard self.responseCounters.indices.contains(index) else { return }
        self.responseCounters[index].increment()
    }

    /// A NOTIFY transaction ended: with a final status, or nil for a timeout or transport error.
    func notifyCompleted(status: Int?) {
        // Index 0 is "timeout", 1...6 the status classes: no label string is made per NOTIFY.
        let index = status.map { $0 / 100 } ?? 0
        guard self.notifyCounters.indices.contains(index) else { return }
        self.notifyCounters[index].increment()
    }
}

/// What the engine holds right now, for the gauges of `GET /metrics`.
public struct EngineSnapshot: Sendable, Equatable {
    public var serverTransactions = 0
    public var clientTransactions = 0
    /// Subscriptions by event package and state (`active`, `pending`, `terminated`).
    public var subscriptions: [String: [String: Int]] = [:]
    public var publications = 0
}

extension SIPEngine {
    /// Counts taken on the engine loop.
    public func snapshot() -> EventLoopFuture<EngineSnapshot> {
        self.loop.submit {
            var snapshot = EngineSnapshot(
                serverTransactions: self.transactions.count,
                clientTransactions: self.clientTransactions.count + self.inviteClientTransactions.count,
                publications: self.publicationIndex.values.reduce(0) { $0 + $1.count })
            for package in EventPackage.subscribable {
                snapshot.subscriptions[package.key] = ["active": 0, "pending": 0, "terminated": 0, "waiting": 0]
            }
            for subscription in self.subscriptions.values {
                let state: String
                switch subscription.machine.status {
                case .active: state = "active"
                case .pending: state = "pending"
                case .terminated: state = subscription.machine.isWaiting ? "waiting" : "terminated"  // RFC 3857 §4.7.1
                }
                snapshot.subscriptions[subscription.package.key, default: [:]][state, default: 0] += 1
            }
            return snapshot
        }
    }
}
