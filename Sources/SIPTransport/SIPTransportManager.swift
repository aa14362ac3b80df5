import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SIPCore

/// Owns every SIP socket: the listeners, the table of open stream connections, and the
/// `OutboundSink` through which the engine sends. Responses go back on the connection their
/// request arrived on; requests to a peer reuse an open connection to it (RFC 3261 §18).
public final class SIPTransportManager: OutboundSink, @unchecked Sendable {
    // @unchecked: mutable state lives in the locked boxes below; the rest is immutable.
    private let group: any EventLoopGroup
    private let datagramLoop: any EventLoop
    private let configuration: SIPTransportConfiguration
    private let receiver: any SIPPacketReceiver
    private let logger: Logger
    private let listenerChannels = NIOLockedValueBox<[(SIPListenerSpec, any Channel)]>([])
    private let connections = NIOLockedValueBox<ConnectionTable>(ConnectionTable())
    private let tlsContext: NIOSSLContext?
    /// Datagram channels with writes queued since the last flush.
    private let pendingFlushes = NIOLockedValueBox<Set<ObjectIdentifier>>([])

    struct ConnectionTable {
        var nextID: UInt64 = 1
        var byID: [SIPConnectionID: (transport: SIPTransportKind, channel: any Channel)] = [:]
        var byPeer: [PeerKey: SIPConnectionID] = [:]
    }

    struct PeerKey: Hashable {
        var transport: SIPTransportKind
        var address: SocketAddress
    }

    /// - Parameter datagramLoop: the loop UDP sockets run on: the engine's, so a datagram is
    ///   handled and answered without a thread hop.
    public init(
        configuration: SIPTransportConfiguration, group: any EventLoopGroup, datagramLoop: any EventLoop,
        receiver: any SIPPacketReceiver, logger: Logger
    ) throws(SIPTransportError) {
        self.configuration = configuration
        self.group = group
        self.datagramLoop = datagramLoop
        self.receiver = receiver
        self.logger = logger
        if configuration.listeners.contains(where: { $0.transport == .tls }) {
            guard let certificatePath = configuration.tlsCertificatePath, let keyPath = configuration.tlsKeyPath else {
                throw .tlsConfiguration("a tls listener needs --tls-cert and --tls-key")
            }
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                self.tlsContext = try NIOSSLContext(configuration: tls)
            } catch {
                throw .tlsConfiguration("cannot load certificate \(certificatePath) or key \(keyPath): \(error)")
            }
        } else {
            self.tlsContext = nil
        }
    }

    /// The addresses actually bound (port 0 resolved), in configuration order.
    public var boundListeners: [(SIPListenerSpec, SocketAddress)] {
        self.listenerChannels.withLockedValue { $0.compactMap { spec, channel in channel.localAddress.map { (spec, $0) } } }
    }

    public func start() async throws {
        for spec in self.configuration.listeners {
            let channel: any Channel
            do {
                switch spec.transport {
                case .udp: channel = try await self.bindDatagram(spec)
                case .tcp, .tls: channel = try await self.bindStream(spec)
                }
            } catch {
                await self.shutdown()
                throw SIPTransportError.bindFailed(spec.description, reason: Self.describe(error))
            }
            self.listenerChannels.withLockedValue { $0.append((spec, channel)) }
            self.logger.info("listening", metadata: ["listener": "\(spec)", "address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return io.description }
        return "\(error)"
    }

    private func bindDatagram(_ spec: SIPListenerSpec) async throws -> any Channel {
        let receiver = self.receiver
        // Vector reads split one buffer into `slots` equal datagram slots: each slot holds the
        // largest accepted message plus one byte, so oversize datagrams are seen as oversize.
        // 32 slots of 64 KiB take a burst in one recvmmsg; the buffer is pooled and reused, and
        // only the pages datagrams land on are ever touched (~4 KiB per slot for SIP's sizes).
        let slotSize = min(self.configuration.limits.maxMessageSize + 1, 65_536)
        let slots = max(1, min(64, (2 << 20) / slotSize))
        return try await DatagramBootstrap(group: self.datagramLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Large socket buffers absorb bursts (a PUBLISH fanning out, a reboot storm of
            // REGISTERs); the kernel caps them at net.core.rmem_max / wmem_max.
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: slotSize * slots))
            .channelOption(.datagramVectorReadMessageCount, value: slots)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SIPDatagramHandler(receiver: receiver))
                }
            }
            .bind(host: spec.host, port: spec.port).get()
    }

    private func bindStream(_ spec: SIPListenerSpec) async throws -> any Channel {
        try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configureStreamPipeline(channel, transport: spec.transport, isServer: true)
                }
            }
            .bind(host: spec.host, port: spec.port).get()
    }

    /// Adds TLS (when needed), the idle timer and the framer, and records the connection.
    private func configureStreamPipeline(_ channel: any Channel, transport: SIPTransportKind, isServer: Bool) throws {
        let id = self.connections.withLockedValue { table -> SIPConnectionID in
            let id = SIPConnectionID(table.nextID)
            table.nextID += 1
            table.byID[id] = (transport, channel)
            if let remote = channel.remoteAddress { table.byPeer[PeerKey(transport: transport, address: remote)] = id }
            return id
        }
        let operations = channel.pipeline.syncOperations
        if transport == .tls, isServer, let context = self.tlsContext {
            try operations.addHandler(NIOSSLServerHandler(context: context))
        }
        try operations.addHandler(IdleStateHandler(allTimeout: self.configuration.idleTimeout))
        try operations.addHandler(
            SIPStreamHandler(
                transport: transport, connection: id, limits: self.configuration.limits, receiver: self.receiver,
                onClose: { [weak self] id in self?.forget(id) }))
    }

    private func forget(_ id: SIPConnectionID) {
        self.connections.withLockedValue { table in
            table.byID[id] = nil
            table.byPeer = table.byPeer.filter { $0.value != id }
        }
    }

    public var openConnectionCount: Int { self.connections.withLockedValue { $0.byID.count } }

    /// Open connections of one transport (TCP or TLS).
    public func openConnectionCount(_ transport: SIPTransportKind) -> Int {
        self.connections.withLockedValue { table in table.byID.values.filter { $0.0 == transport }.count }
    }

    // MARK: OutboundSink

    public func send(_ bytes: [UInt8], to destination: SIPDestination, completion: (@Sendable (Result<Void, any Error>) -> Void)?) {
        switch destination.transport {
        case .udp:
            self.sendDatagram(bytes, to: destination, completion: completion)
        case .tcp, .tls:
            self.sendStream(bytes, to: destination, completion: completion)
        }
    }

    private func sendDatagram(_ bytes: [UInt8], to destination: SIPDestination, completion: (@Sendable (Result<Void, any Error>) -> Void)?) {
        let family = destination.address.protocol
        let channel = self.listenerChannels.withLockedValue { listeners in
            listeners.first { $0.0.transport == .udp && $0.1.localAddress?.protocol == family }?.1
        }
        guard let channel else {
            completion?(.failure(SIPTransportError.noRoute(destination.description)))
            return
        }
        let envelope = AddressedEnvelope(remoteAddress: destination.address, data: channel.allocator.buffer(bytes: bytes))
        guard channel.eventLoop.inEventLoop else {
            let future = channel.writeAndFlush(envelope)
            if let completion { future.whenComplete { completion($0) } }
            return
        }
        // On the socket's own loop, queue the write and flush once after the current burst: a
        // PUBLISH fanning out to many watchers leaves in one sendmmsg instead of one syscall each.
        let future = channel.write(envelope)
        if let completion { future.whenComplete { completion($0) } }
        let id = ObjectIdentifier(channel)
        let needsFlush = self.pendingFlushes.withLockedValue { $0.insert(id).inserted }
        if needsFlush {
            channel.eventLoop.execute {
                self.pendingFlushes.withLockedValue { _ = $0.remove(id) }
                channel.flush()
            }
        }
    }

    public func flushQueued() {
        let queued = self.pendingFlushes.withLockedValue { $0 }
        guard !queued.isEmpty else { return }
        // The flush already scheduled for each channel still runs; it then finds little or nothing.
        for (_, channel) in self.listenerChannels.withLockedValue({ $0 })
        where channel.eventLoop.inEventLoop && queued.contains(ObjectIdentifier(channel)) {
            channel.flush()
        }
    }

    private func sendStream(_ bytes: [UInt8], to destination: SIPDestination, completion: (@Sendable (Result<Void, any Error>) -> Void)?) {
        let key = PeerKey(transport: destination.transport, address: destination.address)
        let channel = self.connections.withLockedValue { table -> (any Channel)? in
            if let id = destination.connection, let entry = table.byID[id] { return entry.channel }
            return table.byPeer[key].flatMap { table.byID[$0]?.channel }
        }
        if let channel {
            let future = channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
            if let completion { future.whenComplete { completion($0) } }
            return
        }
        guard destination.transport == .tcp else {
            // Opening TLS connections needs a verified server identity (RFC 5922); not yet done.
            completion?(.failure(SIPTransportError.connectionUnavailable(destination.description)))
            return
        }
        // RFC 3261 §18.2.2: when the connection is gone, open a new one to the same peer.
        let connect = ClientBootstrap(group: self.group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.configureStreamPipeline(channel, transport: .tcp, isServer: false)
                }
            }
            .connect(to: destination.address)
        connect.whenComplete { result in
            switch result {
            case .success(let channel):
                // The pipeline was set up before the connection had a remote address: record the
                // peer now, so that the next request to it reuses this connection (§18.1.1).
                self.connections.withLockedValue { table in
                    if let id = table.byID.first(where: { $0.value.1 === channel })?.key { table.byPeer[key] = id }
                }
                let future = channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
                if let completion { future.whenComplete { completion($0) } }
            case .failure(let error):
                completion?(.failure(error))
            }
        }
    }

    public func shutdown() async {
        let listeners = self.listenerChannels.withLockedValue { listeners in
            defer { listeners.removeAll() }
            return listeners.map(\.1)
        }
        let streams = self.connections.withLockedValue { $0.byID.values.map(\.channel) }
        for channel in listeners + streams {
            try? await channel.close()
        }
    }
}
