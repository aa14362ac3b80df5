import CHeraldAllocator
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HeraldEngine
import HeraldHTTP
import HeraldStore
import HeraldStoreSQLite
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPCore
import SIPTransport
import ServiceLifecycle

/// A running Herald: store, SIP transports and engine. `start` binds every SIP socket before
/// returning, so a port in use is reported at once; `run` (the ServiceLifecycle service) then
/// waits for a graceful shutdown and closes everything in order.
public final class HeraldServer: Service, Sendable {
    public let configuration: HeraldConfiguration
    public let engine: SIPEngine
    public let transports: SIPTransportManager
    let store: any HeraldStore
    let logger: Logger
    private let healthy = NIOLockedValueBox(true)

    public static func start(
        configuration: HeraldConfiguration, store: any HeraldStore, group: any EventLoopGroup, engineLoop: (any EventLoop)? = nil,
        logger: Logger
    ) async throws -> HeraldServer {
        let sink = LateBoundSink()
        let engineLoop = engineLoop ?? group.next()
        let engine = SIPEngine(
            configuration: EngineConfiguration(
                domains: configuration.domains, listenAddresses: configuration.listeners.map(\.host), authMode: configuration.authMode,
                limits: SIPParserLimits(maxMessageSize: configuration.maxMessageSize, maxHeaderCount: configuration.maxHeaders),
                serverName: "Herald/\(HeraldVersion.current)", defaultPolicy: configuration.defaultPolicy,
                authorizationWait: configuration.authorizationWait, maxWaitingPerWatcher: configuration.maxWaitingPerWatcher,
                trustedHosts: configuration.trustedHosts, routes: configuration.routes, xcapRoot: configuration.xcapRoot,
                routeSecret: try Self.routeSecret(dataDirectory: configuration.dataDirectory)),
            loop: engineLoop, sink: sink, store: store, logger: logger)
        let transports = try SIPTransportManager(
            configuration: SIPTransportConfiguration(
                listeners: configuration.listeners,
                limits: SIPParserLimits(maxMessageSize: configuration.maxMessageSize, maxHeaderCount: configuration.maxHeaders),
                idleTimeout: .seconds(Int64(configuration.tcpIdleTimeoutSeconds)), tlsCertificatePath: configuration.tlsCertificatePath,
                tlsKeyPath: configuration.tlsKeyPath),
            group: group, engineLoop: engineLoop, receiver: engine, logger: logger)
        sink.bind(transports)
        try await transports.start()
        var sentBy = [SIPTransportKind: String]()
        for (spec, address) in transports.boundListeners where sentBy[spec.transport] == nil {
            let host = spec.host.contains(":") ? "[\(spec.host)]" : spec.host
            sentBy[spec.transport] = "\(host):\(address.port ?? spec.port)"
        }
        let boundSentBy = sentBy
        try await engineLoop.submit { engine.setSentBy(boundSentBy) }.get()
        _ = try await engine.restore().get()
        return HeraldServer(configuration: configuration, engine: engine, transports: transports, store: store, logger: logger)
    }

    private init(configuration: HeraldConfiguration, engine: SIPEngine, transports: SIPTransportManager, store: any HeraldStore, logger: Logger) {
        self.configuration = configuration
        self.engine = engine
        self.transports = transports
        self.store = store
        self.logger = logger
    }

    /// The Record-Route key, kept in `route.key` in the data directory (created on first start,
    /// readable by the owner only) so that dialogs record-routed before a restart still route.
    static func routeSecret(dataDirectory: String) throws -> [UInt8] {
        let path = (dataDirectory as NSString).appendingPathComponent("route.key")
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return Array(data) }
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255) }
        guard FileManager.default.createFile(atPath: path, contents: Data(secret), attributes: [.posixPermissions: 0o600]) else {
            throw StoreError.unavailable("cannot write \(path)")
        }
        return secret
    }

    /// Listeners up (until shutdown begins) and the store answering a trivial read within
    /// `storeTimeout`: a wedged or closed store makes `GET /healthz` answer 503.
    public func isHealthy(storeTimeout: Duration = .seconds(2)) async -> Bool {
        guard self.healthy.withLockedValue({ $0 }) else { return false }
        let store = self.store
        // Whichever ends first answers; a store call that never returns is left behind rather
        // than awaited (a task group would wait for it).
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let pending = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(continuation)
            let finish: @Sendable (Bool) -> Void = { healthy in
                pending.withLockedValue { waiting in
                    waiting?.resume(returning: healthy)
                    waiting = nil
                }
            }
            let timeout = Task {
                try? await Task.sleep(for: storeTimeout)
                finish(false)
            }
            Task {
                finish((try? await store.checkHealth()) != nil)
                timeout.cancel()
            }
        }
    }

    /// Logged once every listener, SIP and HTTP, accepts: the line operators and the test
    /// harness wait for.
    public func announceReady(httpAddress: String) {
        self.logger.notice(
            "herald ready",
            metadata: [
                "sip": "\(self.transports.boundListeners.map { "\($0.0.transport.rawValue):\($0.1)" }.joined(separator: " "))",
                "http": "\(httpAddress)",
                "domains": "\(self.configuration.domains.joined(separator: ","))", "auth": "\(self.configuration.authMode.rawValue)",
                "allocator": "\(String(cString: herald_allocator_version()))",
            ])
    }

    public func run() async throws {
        let sweeper = self.engine.loop.scheduleRepeatedAsyncTask(initialDelay: .seconds(1), delay: .seconds(5)) { [engine] _ in
            engine.removeExpiredBindings().map { _ in () }.recover { _ in () }
        }
        try? await gracefulShutdown()
        self.healthy.withLockedValue { $0 = false }
        self.logger.notice("shutting down")
        sweeper.cancel()
        await self.engine.stopNotifying()
        await self.transports.shutdown()
        // Nothing new comes in now: what was answered reaches the store before it closes.
        await self.engine.drainStoreWrites()
        try await self.store.close()
    }
}

/// Breaks the engine ↔ transport cycle: the engine is built with this sink before the
/// transports exist, and it forwards once they are bound.
final class LateBoundSink: OutboundSink {
    private let target = NIOLockedValueBox<(any OutboundSink)?>(nil)

    func bind(_ sink: any OutboundSink) { self.target.withLockedValue { $0 = sink } }

    func send(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?) {
        guard let sink = self.target.withLockedValue({ $0 }) else {
            onFailure?(SIPTransportError.noRoute(destination.description))
            return
        }
        sink.send(bytes, to: destination, onFailure: onFailure)
    }

    func flushQueued() {
        self.target.withLockedValue { $0 }?.flushQueued()
    }
}

public enum HeraldVersion {
    public static let current = "0.1.0"
}

/// Runs `herald serve` until SIGINT or SIGTERM.
public enum HeraldRunner {
    public static func serve(configuration: HeraldConfiguration, logger: Logger) async throws {
        let metrics = HeraldMetrics.bootstrap()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let engineLoop = group.next()
        let store: any HeraldStore
        do {
            // The store chains the statements of a group commit on another loop than the
            // engine's when there is one: each statement's completion waits for its loop to be
            // free, and the engine's rarely is under load (a BEGIN, two writes and a COMMIT were
            // four such waits per commit, and the PUBLISH answers waited for all of them).
            // Only the commit's outcome goes to the engine.
            let storeLoop = group.makeIterator().first { $0 !== engineLoop } ?? engineLoop
            store = try await SQLiteHeraldStore.open(dataDirectory: configuration.dataDirectory, logger: logger, eventLoop: storeLoop)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let server: HeraldServer
        do {
            server = try await HeraldServer.start(
                configuration: configuration, store: store, group: group, engineLoop: engineLoop, logger: logger)
        } catch {
            try? await store.close()
            try? await group.shutdownGracefully()
            throw error
        }
        let http = HeraldHTTPApplication.make(
            host: configuration.httpHost, port: configuration.httpPort, logger: logger, engine: server.engine, store: store,
            authentication: HTTPAuthentication(
                store: store, domains: configuration.domains, trustedHosts: Set(configuration.trustedHosts.map { $0.lowercased() }),
                identityProxies: Set(configuration.identityProxies.map { $0.lowercased() }), authMode: configuration.authMode),
            xcapRoot: configuration.xcapRoot, isHealthy: { await server.isHealthy() },
            metrics: { await metrics.render(engine: server.engine, transports: server.transports, store: store) },
            onListening: { address in server.announceReady(httpAddress: address) })
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: server),
                    .init(service: http, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await services.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }
}
