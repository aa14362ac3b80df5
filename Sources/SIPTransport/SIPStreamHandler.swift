import Metrics
import NIOConcurrencyHelpers
import NIOCore
import SIPCore

/// Frames a TCP or TLS byte stream into SIP messages (RFC 3261 §18.3) and hands each to the
/// receiver. Answers RFC 5626 §4.4.1 double-CRLF keep-alives with a single CRLF. A stream
/// whose framing cannot be recovered (bad Content-Length, oversized headers) is closed.
final class SIPStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer: SIPStreamFramer
    private let transport: SIPTransportKind
    private let connection: SIPConnectionID
    private let receiver: any SIPPacketReceiver
    private let onClose: @Sendable (SIPConnectionID) -> Void
    private var remote: SocketAddress?
    private var local: SocketAddress?

    init(
        transport: SIPTransportKind, connection: SIPConnectionID, limits: SIPParserLimits,
        receiver: any SIPPacketReceiver, onClose: @escaping @Sendable (SIPConnectionID) -> Void
    ) {
        self.framer = SIPStreamFramer(limits: limits)
        self.transport = transport
        self.connection = connection
        self.receiver = receiver
        self.onClose = onClose
    }

    func channelActive(context: ChannelHandlerContext) {
        self.remote = context.channel.remoteAddress
        self.local = context.channel.localAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        self.framer.append(bytes)
        do {
            while let frame = try self.framer.next() {
                switch frame {
                case .keepAlivePing:
                    context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(string: "\r\n")), promise: nil)
                case .message(let message):
                    guard let remote = self.remote ?? context.channel.remoteAddress else { continue }
                    self.receiver.receive(
                        InboundPacket(bytes: message, transport: self.transport, source: remote, connection: self.connection, local: self.local))
                }
            }
        } catch {
            // Unrecoverable framing: nothing after this point can be trusted (RFC 4475 §3.1.2.3).
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.onClose(self.connection)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Hands every datagram to the receiver: one datagram is one message (RFC 3261 §18.3).
final class SIPDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let receiver: any SIPPacketReceiver
    private let limits: SIPParserLimits
    private var local: SocketAddress?
    /// The datagrams of the current read, handed over together at its end.
    private var batch: [InboundPacket] = []
    /// Reads handed over and not yet handled, and whether reading is paused because of them:
    /// the receiver's queue must not grow without bound when it falls behind (a burst of
    /// REGISTERs, a flood). While paused, the socket's buffer fills and the kernel drops what
    /// does not fit, as it did when the receiver read the socket itself; UDP retransmits.
    private let backlog = NIOLockedValueBox((waiting: 0, paused: false))
    static let pauseAtWaitingReads = 64
    static let resumeAtWaitingReads = 16

    init(receiver: any SIPPacketReceiver, limits: SIPParserLimits) {
        self.receiver = receiver
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        self.local = context.channel.localAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = Self.unwrapInboundIn(data)
        guard let bytes = envelope.data.readBytes(length: envelope.data.readableBytes), !bytes.isEmpty else { return }
        // A bare CRLF datagram is a keep-alive (RFC 5626 §3.5.1 uses STUN on UDP; CRLFs are noise).
        if bytes.allSatisfy({ $0 == 13 || $0 == 10 }) { return }
        // Parsed here, on the datagram loop: the receiver's loop has enough to do.
        let parsed = Result { () throws(SIPParseFailure) in try SIPMessageParser.parse(bytes, limits: self.limits) }
        self.batch.append(
            InboundPacket(bytes: bytes, transport: .udp, source: envelope.remoteAddress, connection: nil, local: self.local, parsed: parsed))
        if self.batch.count >= Self.maxBatch { self.handOver(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.handOver(context: context)
        context.fireChannelReadComplete()
    }

    /// Whether reading is paused (for tests).
    var isPaused: Bool { self.backlog.withLockedValue { $0.paused } }

    private func handOver(context: ChannelHandlerContext) {
        guard !self.batch.isEmpty else { return }
        let batch = self.batch
        self.batch.removeAll(keepingCapacity: true)
        let pause = self.backlog.withLockedValue { backlog -> Bool in
            backlog.waiting += 1
            guard !backlog.paused, backlog.waiting >= Self.pauseAtWaitingReads else { return false }
            backlog.paused = true
            return true
        }
        if pause { context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        let backlog = self.backlog
        let channel = context.channel
        self.receiver.receive(batch: batch) {
            let mayResume = backlog.withLockedValue { backlog -> Bool in
                backlog.waiting -= 1
                return backlog.paused && backlog.waiting <= Self.resumeAtWaitingReads
            }
            guard mayResume else { return }
            // Decided and done on the channel's loop, like pausing, so that a resume cannot
            // land after a later pause.
            channel.eventLoop.execute {
                let resume = backlog.withLockedValue { backlog -> Bool in
                    guard backlog.paused, backlog.waiting <= Self.resumeAtWaitingReads else { return false }
                    backlog.paused = false
                    return true
                }
                // (Turning reading on reads at once.)
                if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            }
        }
    }

    /// A read loop without its completion event still hands over this often.
    static let maxBatch = 64

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors and oversized datagrams surface here; a datagram socket stays open.
        Self.receiveErrors.increment()
    }

    static let receiveErrors = Counter(label: "herald_udp_receive_errors_total")
}
