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
    /// The engine's loop: what it sends there is batched per burst of its work.
    private let engineLoop: any EventLoop
    private let configuration: SIPTransportConfiguration
    private let receiver: any SIPPacketReceiver
    private let logger: Logger
    private let listenerChannels = NIOLockedValueBox<[(SIPListenerSpec, any Channel)]>([])
    private let connections = NIOLockedValueBox<ConnectionTable>(ConnectionTable())
    private let tlsContext: NIOSSLContext?
    /// The loop datagrams are read, parsed and written on: another than the engine's when there is one.
    private let datagramLoop: any EventLoop
    /// One sender per UDP listener, by address family.
    private let senders = NIOLockedValueBox<[(NIOBSDSocket.ProtocolFamily, DatagramSender)]>([])

    struct ConnectionTable {
        var nextID: UInt64 = 1
        var byID: [SIPConnectionID: (transport: SIPTransportKind, channel: any Channel)] = [:]
        var byPeer: [PeerKey: SIPConnectionID] = [:]
        /// Connections being opened, so that requests meanwhile share them.
        var connecting: [PeerKey: EventLoopFuture<any Channel>] = [:]
    }

    struct PeerKey: Hashable {
        var transport: SIPTransportKind
        var address: SocketAddress
    }

    /// - Parameter engineLoop: the loop the receiver (the engine) runs on. UDP sockets are read
    ///   and written on another loop of `group` when there is one: at fan-out rates the engine's
    ///   thread is the server's busiest, and reading, parsing and sending datagrams is a fifth
    ///   of its work, which the other core can take (one hand-over per burst each way).
    public init(
        configuration: SIPTransportConfiguration, group: any EventLoopGroup, engineLoop: any EventLoop,
        receiver: any SIPPacketReceiver, logger: Logger
    ) throws(SIPTransportError) {
        self.configuration = configuration
        self.group = group
        self.engineLoop = engineLoop
        self.datagramLoop = group.makeIterator().first { $0 !== engineLoop } ?? engineLoop
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
        let limits = self.configuration.limits
        // The socket is made here rather than by the bootstrap: the datagram sender writes to
        // it directly, from another loop (`DatagramSender`).
        let address = try SocketAddress.makeAddressResolvingHost(spec.host, port: spec.port)
        let socket = try Self.boundDatagramSocket(address)
        // The sender's own descriptor of the socket (see `DatagramSender`).
        let senderSocket = fcntl(socket, F_DUPFD_CLOEXEC, 0)
        guard senderSocket >= 0 else {
            let code = errno
            _ = Glibc.close(socket)
            throw IOError(errnoCode: code, reason: "dup")
        }
        // Vector reads split one buffer into `slots` equal datagram slots: each slot holds the
        // largest accepted message plus one byte, so oversize datagrams are seen as oversize.
        // 32 slots of 64 KiB take a burst in one recvmmsg; the buffer is pooled and reused, and
        // only the pages datagrams land on are ever touched (~4 KiB per slot for SIP's sizes).
        let slotSize = min(self.configuration.limits.maxMessageSize + 1, 65_536)
        let slots = max(1, min(64, (2 << 20) / slotSize))
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: self.datagramLoop)
                // Large socket buffers absorb bursts (a PUBLISH fanning out, a reboot storm of
                // REGISTERs); the kernel caps them at net.core.rmem_max / wmem_max.
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: slotSize * slots))
                .channelOption(.datagramVectorReadMessageCount, value: slots)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SIPDatagramHandler(receiver: receiver, limits: limits))
                    }
                }
                .withBoundSocket(socket).get()
        } catch {
            // (NIO owns `socket` once handed over, and closes it when setting up fails.)
            _ = Glibc.close(senderSocket)
            throw error
        }
        let sender = DatagramSender(socket: senderSocket, ownerLoop: self.engineLoop, sendLoop: self.datagramLoop)
        sender.close(whenClosed: channel)
        self.senders.withLockedValue { $0.append((address.protocol, sender)) }
        return channel
    }

    /// A non-blocking UDP socket bound to `address` (SO_REUSEADDR, as the bootstrap would set).
    private static func boundDatagramSocket(_ address: SocketAddress) throws -> CInt {
        let family = address.protocol.rawValue
        let socket = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: CInt = 1
        let bound = setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)) == 0
            && address.withSockAddr { Glibc.bind(socket, $0, socklen_t($1)) } == 0
        guard bound else {
            let code = errno
            _ = Glibc.close(socket)
            throw IOError(errnoCode: code, reason: "bind")
        }
        return socket
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

    public func send(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?) {
        switch destination.transport {
        case .udp:
            self.sendDatagram(bytes, to: destination, onFailure: onFailure)
        case .tcp, .tls:
            self.sendStream(bytes, to: destination, onFailure: onFailure)
        }
    }

    private func sendDatagram(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?) {
        let family = destination.address.protocol
        guard let sender = self.senders.withLockedValue({ senders in senders.first { $0.0 == family }?.1 }) else {
            onFailure?(SIPTransportError.noRoute(destination.description))
            return
        }
        // From the engine's loop, the datagram leaves after the current burst: a PUBLISH fanning
        // out to many watchers goes in one sendmmsg instead of one syscall each. (A datagram
        // that finds the socket's buffer full is dropped and counted: UDP retransmits.)
        sender.send(bytes, to: destination.address, onFailure: onFailure)
    }

    public func flushQueued() {
        for (_, sender) in self.senders.withLockedValue({ $0 }) { sender.handOff() }
    }

    private func sendStream(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?) {
        let key = PeerKey(transport: destination.transport, address: destination.address)
        let channel = self.connections.withLockedValue { table -> (any Channel)? in
            if let id = destination.connection, let entry = table.byID[id] { return entry.channel }
            return table.byPeer[key].flatMap { table.byID[$0]?.channel }
        }
        if let channel {
            let future = channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
            if let onFailure { future.whenFailure(onFailure) }
            return
        }
        guard destination.transport == .tcp else {
            // Opening TLS connections needs a verified server identity (RFC 5922); not yet done.
            onFailure?(SIPTransportError.connectionUnavailable(destination.description))
            return
        }
        // RFC 3261 §18.2.2: when the connection is gone, open a new one to the same peer; a
        // request while it is being opened waits for it rather than opening another.
        let loop = self.group.next()
        let (connect, promise) = self.connections.withLockedValue { table -> (EventLoopFuture<any Channel>, EventLoopPromise<any Channel>?) in
            if let pending = table.connecting[key] { return (pending, nil) }
            let promise = loop.makePromise(of: (any Channel).self)
            table.connecting[key] = promise.futureResult
            return (promise.futureResult, promise)
        }
        if let promise {
            // Outside the lock: the bootstrap may set the pipeline up (which records the
            // connection under the same lock) before `connect` returns.
            ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.configureStreamPipeline(channel, transport: .tcp, isServer: false)
                    }
                }
                .connect(to: destination.address)
                .cascade(to: promise)
        }
        if promise != nil {
            connect.whenComplete { result in
                self.connections.withLockedValue { table in
                    table.connecting[key] = nil
                    // The pipeline was set up before the connection had a remote address: record
                    // the peer now, so that the next request to it reuses this connection (§18.1.1).
                    if case .success(let channel) = result, let id = table.byID.first(where: { $0.value.1 === channel })?.key {
                        table.byPeer[key] = id
                    }
                }
            }
        }
        connect.whenComplete { result in
            switch result {
            case .success(let channel):
                let future = channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
                if let onFailure { future.whenFailure(onFailure) }
            case .failure(let error):
                onFailure?(error)
            }
        }
    }

    public func shutdown() async {
        // The senders write to the listeners' sockets: they stop before the sockets close.
        for (_, sender) in self.senders.withLockedValue({ senders in
            defer { senders.removeAll() }
            return senders
        }) {
            await sender.close()
        }
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
