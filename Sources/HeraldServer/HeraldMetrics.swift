import CHeraldAllocator
import HeraldEngine
import HeraldStore
import Metrics
import Prometheus
import SIPCore
import SIPTransport

/// Prometheus metrics for `GET /metrics`: the counters and timers the components record through
/// swift-metrics, plus gauges read at scrape time from the engine, the transports and the store.
public final class HeraldMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    /// Bootstraps swift-metrics with a Prometheus backend; once per process (`herald serve`).
    public static func bootstrap() -> HeraldMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latencies of a presence server: from 100 µs to 5 s.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5),
        ]
        MetricsSystem.bootstrap(factory)
        return HeraldMetrics(registry: registry)
    }

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        self.registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "herald", metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// The exposition text, with the gauges brought up to date first.
    func render(engine: SIPEngine, transports: SIPTransportManager, store: any HeraldStore) async -> [UInt8] {
        if let snapshot = try? await engine.snapshot().get() {
            self.gauge("transactions", "Open SIP transactions", [("kind", "server")]).set(Double(snapshot.serverTransactions))
            self.gauge("transactions", "Open SIP transactions", [("kind", "client")]).set(Double(snapshot.clientTransactions))
            for (event, states) in snapshot.subscriptions {
                for (state, count) in states {
                    self.gauge("subscriptions", "Subscriptions by event package and state", [("event", event), ("state", state)]).set(Double(count))
                }
            }
            self.gauge("publications", "Live event state publications").set(Double(snapshot.publications))
        }
        if let bindings = try? await store.allBindings() {
            self.gauge("registrations", "Addresses of record with at least one binding").set(Double(Set(bindings.map(\.addressOfRecord)).count))
            self.gauge("registered_contacts", "Registered contacts (bindings)").set(Double(bindings.count))
        }
        for transport in [SIPTransportKind.tcp, .tls] {
            self.gauge("connections", "Open TCP and TLS connections", [("transport", transport.rawValue)])
                .set(Double(transports.openConnectionCount(transport)))
        }
        var allocated = 0
        var resident = 0
        if herald_allocator_statistics(&allocated, &resident) == 0 {
            self.gauge("memory_allocated_bytes", "Bytes of memory the server holds (jemalloc stats.allocated)").set(Double(allocated))
            self.gauge("memory_resident_bytes", "Bytes the allocator keeps resident (jemalloc stats.resident)").set(Double(resident))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        self.registry.emit(into: &buffer)
        return buffer
    }
}
