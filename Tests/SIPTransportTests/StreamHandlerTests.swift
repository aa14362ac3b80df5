import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SIPCore
import Testing
@testable import SIPTransport

final class CollectingReceiver: SIPPacketReceiver {
    private let box = NIOLockedValueBox<[InboundPacket]>([])
    var packets: [InboundPacket] { self.box.withLockedValue { $0 } }
    func receive(_ packet: InboundPacket) { self.box.withLockedValue { $0.append(packet) } }
}

/// Keeps each batch and its `handled` callback, to be called when the test says so.
final class BatchRecordingReceiver: SIPPacketReceiver {
    private let box = NIOLockedValueBox<[([InboundPacket], @Sendable () -> Void)]>([])
    var batches: [[InboundPacket]] { self.box.withLockedValue { $0.map(\.0) } }
    func receive(_ packet: InboundPacket) { self.receive(batch: [packet]) {} }
    func receive(batch: [InboundPacket], handled: @escaping @Sendable () -> Void) { self.box.withLockedValue { $0.append((batch, handled)) } }
    /// Calls the `handled` callbacks of the first `count` batches not yet handled.
    func handle(_ count: Int) {
        let callbacks = self.box.withLockedValue { box in
            defer { box.removeFirst(count) }
            return box.prefix(count).map(\.1)
        }
        for callback in callbacks { callback() }
    }
}

let options = Array("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 2\r\n\r\nhi".utf8)

func makeStreamChannel(_ receiver: CollectingReceiver, closed: NIOLockedValueBox<[SIPConnectionID]> = NIOLockedValueBox([])) throws -> EmbeddedChannel {
    let handler = SIPStreamHandler(
        transport: .tcp, connection: SIPConnectionID(7), limits: SIPParserLimits(maxMessageSize: 1000), receiver: receiver,
        onClose: { id in closed.withLockedValue { $0.append(id) } })
    let channel = EmbeddedChannel(handler: handler)
    try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 5060)).wait()
    return channel
}

@Suite struct StreamHandlerTests {
    @Test func partialSegmentsMakeOneMessage() throws {
        let receiver = CollectingReceiver()
        let channel = try makeStreamChannel(receiver)
        for chunk in stride(from: 0, to: options.count, by: 7) {
            try channel.writeInbound(ByteBuffer(bytes: options[chunk..<min(chunk + 7, options.count)]))
        }
        #expect(receiver.packets.count == 1)
        #expect(receiver.packets.first?.bytes == options)
        #expect(receiver.packets.first?.connection == SIPConnectionID(7))
        #expect(receiver.packets.first?.source == (try SocketAddress(ipAddress: "192.0.2.1", port: 5060)))
    }

    @Test func coalescedSegmentsMakeSeveralMessages() throws {
        let receiver = CollectingReceiver()
        let channel = try makeStreamChannel(receiver)
        try channel.writeInbound(ByteBuffer(bytes: options + options + options))
        #expect(receiver.packets.count == 3)
    }

    @Test func doubleCRLFKeepAliveIsAnsweredWithCRLF() throws {
        let receiver = CollectingReceiver()
        let channel = try makeStreamChannel(receiver)
        try channel.writeInbound(ByteBuffer(string: "\r\n\r\n"))
        let pong = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: pong) == "\r\n")
        #expect(receiver.packets.isEmpty)
        #expect(channel.isActive)
    }

    @Test func unrecoverableFramingClosesTheConnection() throws {
        let receiver = CollectingReceiver()
        let closed = NIOLockedValueBox<[SIPConnectionID]>([])
        let channel = try makeStreamChannel(receiver, closed: closed)
        try channel.writeInbound(ByteBuffer(string: "INVITE sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n"))
        #expect(!channel.isActive)
        #expect(closed.withLockedValue { $0 } == [SIPConnectionID(7)])
    }

    @Test func idleConnectionIsClosed() throws {
        let receiver = CollectingReceiver()
        let channel = try makeStreamChannel(receiver)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(!channel.isActive)
    }
}

@Suite struct DatagramHandlerTests {
    @Test func eachDatagramIsOneMessageWithItsSourceParsedOnTheReadingLoop() throws {
        let receiver = CollectingReceiver()
        let channel = EmbeddedChannel(handler: SIPDatagramHandler(receiver: receiver, limits: SIPParserLimits(maxMessageSize: 1000)))
        let source = try SocketAddress(ipAddress: "192.0.2.2", port: 5099)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: options)))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(string: "\r\n\r\n")))
        try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(string: "GARBAGE\r\n\r\n")))
        #expect(receiver.packets.count == 2)
        #expect(receiver.packets.first?.transport == .udp)
        #expect(receiver.packets.first?.source == source)
        guard case .success(.request(let request)) = receiver.packets.first?.parsed else {
            Issue.record("the datagram was not parsed")
            return
        }
        #expect(request.method == .options)
        guard case .failure = receiver.packets.last?.parsed else {
            Issue.record("garbage must carry its parse failure")
            return
        }
    }

    /// The datagrams of one read reach the receiver in one call, at the read's end.
    @Test func datagramsOfOneReadAreHandedOverTogether() throws {
        let receiver = BatchRecordingReceiver()
        let channel = EmbeddedChannel(handler: SIPDatagramHandler(receiver: receiver, limits: SIPParserLimits(maxMessageSize: 1000)))
        let source = try SocketAddress(ipAddress: "192.0.2.2", port: 5099)
        for _ in 0..<3 { channel.pipeline.fireChannelRead(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: options))) }
        #expect(receiver.batches.isEmpty)
        channel.pipeline.fireChannelReadComplete()
        #expect(receiver.batches.map(\.count) == [3])
    }

    /// A receiver that falls behind stops the reading (the kernel's buffer and then its drops
    /// take the excess) until it has caught up, instead of an unbounded queue of reads.
    @Test func readingPausesWhileTooManyReadsWaitForTheReceiver() throws {
        let receiver = BatchRecordingReceiver()
        let handler = SIPDatagramHandler(receiver: receiver, limits: SIPParserLimits(maxMessageSize: 1000))
        let channel = EmbeddedChannel(handler: handler)
        let source = try SocketAddress(ipAddress: "192.0.2.2", port: 5099)
        for _ in 0..<(SIPDatagramHandler.pauseAtWaitingReads - 1) {
            try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: options)))
        }
        #expect(!handler.isPaused)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: options)))
        #expect(handler.isPaused)
        receiver.handle(SIPDatagramHandler.pauseAtWaitingReads - SIPDatagramHandler.resumeAtWaitingReads - 1)
        channel.embeddedEventLoop.run()
        #expect(handler.isPaused)
        receiver.handle(1)
        channel.embeddedEventLoop.run()
        #expect(!handler.isPaused)
    }
}

@Suite struct ListenerSpecTests {
    @Test func specsParseAndPrint() throws {
        #expect(try SIPListenerSpec(parsing: "udp:127.0.0.1:5060") == SIPListenerSpec(transport: .udp, host: "127.0.0.1", port: 5060))
        #expect(try SIPListenerSpec(parsing: "TLS:[::1]:5061").description == "tls:[::1]:5061")
        for bad in ["bogus", "udp:nohost", "foo:1.2.3.4:5", "udp:127.0.0.1:70000", "tcp:example.com:5060", "udp::5060"] {
            #expect(throws: SIPTransportError.invalidListenSpec(bad)) { try SIPListenerSpec(parsing: bad) }
        }
    }
}
