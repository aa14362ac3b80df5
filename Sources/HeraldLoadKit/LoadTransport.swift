import NIOCore
import NIOPosix
import SIPCore

/// One client socket to the server under load: a UDP socket, or one TCP connection framed as a
/// SIP stream (RFC 3261 §18.3). Messages arrive parsed, on the transport's loop.
public final class LoadTransport: @unchecked Sendable {
    // @unchecked: `onMessage` is set before traffic starts and called only on `loop`.
    public enum Kind: String, Sendable, CaseIterable {
        case udp, tcp
        public var viaToken: String { self == .udp ? "UDP" : "TCP" }
    }

    public let kind: Kind
    public let target: SocketAddress
    public let loop: any EventLoop
    private var channel: (any Channel)?
    public var onMessage: (SIPMessage) -> Void = { _ in }

    private init(kind: Kind, target: SocketAddress, loop: any EventLoop) {
        self.kind = kind
        self.target = target
        self.loop = loop
    }

    /// Only loopback targets: a load tool must never flood a network.
    public static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1"
    }

    public static func open(kind: Kind, target: SocketAddress, loop: any EventLoop) async throws -> LoadTransport {
        guard Self.isLoopback(target) else { throw LoadError.notLoopback(target.description) }
        let transport = LoadTransport(kind: kind, target: target, loop: loop)
        switch kind {
        case .udp:
            transport.channel = try await DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LoadDatagramHandler(transport: transport))
                    }
                }
                .bind(host: target.protocol == .inet6 ? "::1" : "127.0.0.1", port: 0).get()
        case .tcp:
            transport.channel = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(LoadStreamHandler(transport: transport))
                    }
                }
                .connect(to: target).get()
        }
        return transport
    }

    public var localPort: Int { self.channel?.localAddress?.port ?? 0 }

    /// `host:port` for Via and Contact.
    public var sentBy: String { "127.0.0.1:\(self.localPort)" }

    public var isReliable: Bool { self.kind == .tcp }

    public func send(_ bytes: [UInt8]) {
        guard let channel = self.channel else { return }
        let buffer = channel.allocator.buffer(bytes: bytes)
        switch self.kind {
        case .udp: channel.writeAndFlush(AddressedEnvelope(remoteAddress: self.target, data: buffer), promise: nil)
        case .tcp: channel.writeAndFlush(buffer, promise: nil)
        }
    }

    public func close() async {
        try? await self.channel?.close()
    }

    func deliver(_ bytes: [UInt8]) {
        guard let message = try? SIPMessageParser.parse(bytes) else { return }
        self.onMessage(message)
    }
}

public enum LoadError: Error, CustomStringConvertible {
    case notLoopback(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notLoopback(let target): "herald-load only targets loopback addresses, not \(target)"
        case .invalid(let reason): reason
        }
    }
}

final class LoadDatagramHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let transport: LoadTransport
    init(transport: LoadTransport) { self.transport = transport }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = Self.unwrapInboundIn(data)
        self.transport.deliver(envelope.data.readBytes(length: envelope.data.readableBytes) ?? [])
    }
}

final class LoadStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let transport: LoadTransport
    var framer = SIPStreamFramer()
    init(transport: LoadTransport) { self.transport = transport }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        self.framer.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
        while let frame = try? self.framer.next() {
            if case .message(let bytes) = frame { self.transport.deliver(bytes) }
        }
    }
}
