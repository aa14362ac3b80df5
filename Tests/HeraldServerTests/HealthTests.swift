import Foundation
import HeraldServer
import HeraldStore
import Logging
import NIOPosix
import SIPTransport
import Testing

/// `GET /healthz` answers from `HeraldServer.isHealthy`: listeners up and the store answering.
@Suite struct HealthTests {
    func withServer(_ body: (HeraldServer, InMemoryHeraldStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-health-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = HeraldConfiguration()
        configuration.listeners = [SIPListenerSpec(transport: .udp, host: "127.0.0.1", port: 0)]
        configuration.dataDirectory = directory
        let store = InMemoryHeraldStore()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await HeraldServer.start(configuration: configuration, store: store, group: group, logger: Logger(label: "test"))
        try await body(server, store)
        try await group.shutdownGracefully()
    }

    @Test func healthyWhileTheStoreAnswers() async throws {
        try await self.withServer { server, store in
            #expect(await server.isHealthy())
            await store.setFailsHealthCheck(true)
            #expect(await !server.isHealthy())
            await store.setFailsHealthCheck(false)
            #expect(await server.isHealthy())
        }
    }

    @Test func aStoreThatDoesNotAnswerInTimeIsUnhealthy() async throws {
        try await self.withServer { server, store in
            await store.setHealthCheckDelay(.seconds(30))
            let started = ContinuousClock.now
            #expect(await !server.isHealthy(storeTimeout: .milliseconds(200)))
            // The answer comes at the timeout, not when the stuck store call returns.
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
