import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPCore
import Testing
@testable import SIPTransport

/// The transport manager over real loopback sockets.
@Suite struct TransportManagerTests {
    @Test func requestsToOnePeerOverTCPShareTheConnectionOpenedForTheFirstEvenWhileItOpens() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // The peer: a TCP server that counts the connections made to it.
        let accepted = NIOLockedValueBox(0)
        let peer = try await ServerBootstrap(group: group).childChannelInitializer { channel in
            accepted.withLockedValue { $0 += 1 }
            return channel.eventLoop.makeSucceededVoidFuture()
        }.bind(host: "127.0.0.1", port: 0).get()
        let manager = try SIPTransportManager(
            configuration: SIPTransportConfiguration(listeners: []), group: group, engineLoop: group.next(),
            receiver: CollectingReceiver(), logger: Logger(label: "test"))
        try await manager.start()
        let destination = SIPDestination(transport: .tcp, address: try #require(peer.localAddress), connection: nil)
        let failures = NIOLockedValueBox(0)
        // Three at once, from the loop the connection opens on (as the engine sends): the second
        // and third wait for the connection the first opens.
        try await group.next().submit {
            for _ in 0..<3 { manager.send(options, to: destination) { _ in failures.withLockedValue { $0 += 1 } } }
        }.get()
        try await Task.sleep(for: .milliseconds(100))
        // And one after it is open.
        manager.send(options, to: destination) { _ in failures.withLockedValue { $0 += 1 } }
        try await Task.sleep(for: .milliseconds(100))
        #expect(failures.withLockedValue { $0 } == 0)
        #expect(accepted.withLockedValue { $0 } == 1)
        #expect(manager.openConnectionCount(.tcp) == 1)
        await manager.shutdown()
        try await peer.close()
        try await group.shutdownGracefully()
    }

    /// UDP leaves from the listener's own port through the datagram sender, on the group's other
    /// loop: in order, in batches, a datagram the kernel refuses reported on its own.
    /// (With one loop, as on a one-core machine, everything runs on the engine's loop.)
    @Test(arguments: [1, 2])
    func datagramsLeaveFromTheListenerInOrderAndARefusedOneFailsAlone(_ loops: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        let received = NIOLockedValueBox<[(String, SocketAddress)]>([])
        let peer = try await DatagramBootstrap(group: group).channelInitializer { channel in
            channel.pipeline.addHandler(DatagramCollector(received: received))
        }.bind(host: "127.0.0.1", port: 0).get()
        let engineLoop = group.next()
        let manager = try SIPTransportManager(
            configuration: SIPTransportConfiguration(listeners: [SIPListenerSpec(transport: .udp, host: "127.0.0.1", port: 0)]),
            group: group, engineLoop: engineLoop, receiver: CollectingReceiver(), logger: Logger(label: "test"))
        try await manager.start()
        let listener = try #require(manager.boundListeners.first?.1)
        let destination = SIPDestination(transport: .udp, address: try #require(peer.localAddress), connection: nil)
        let failures = NIOLockedValueBox<[Int]>([])
        // A burst on the engine's loop (one hand-over), the 51st too large for any datagram.
        try await engineLoop.submit {
            for index in 0..<100 {
                let bytes = index == 50 ? [UInt8](repeating: 65, count: 70_000) : Array("datagram \(index)".utf8)
                manager.send(bytes, to: destination) { _ in failures.withLockedValue { $0.append(index) } }
            }
        }.get()
        // And one from another thread, which leaves at once, after the burst.
        manager.send(Array("datagram 100".utf8), to: destination, onFailure: nil)
        for _ in 0..<200 where received.withLockedValue({ $0.count }) < 100 { try await Task.sleep(for: .milliseconds(10)) }
        let texts = received.withLockedValue { $0.map(\.0) }
        #expect(texts == (0...100).filter { $0 != 50 }.map { "datagram \($0)" })
        #expect(received.withLockedValue { $0.allSatisfy { $0.1.port == listener.port } })
        #expect(failures.withLockedValue { $0 } == [50])
        // After shutdown nothing is written to the closed socket: a send fails.
        await manager.shutdown()
        let afterShutdown = NIOLockedValueBox(false)
        manager.send(options, to: destination) { _ in afterShutdown.withLockedValue { $0 = true } }
        #expect(afterShutdown.withLockedValue { $0 })
        try await peer.close()
        try await group.shutdownGracefully()
    }
}

/// Records every datagram a peer socket receives, with its source.
final class DatagramCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let received: NIOLockedValueBox<[(String, SocketAddress)]>
    init(received: NIOLockedValueBox<[(String, SocketAddress)]>) { self.received = received }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        self.received.withLockedValue { $0.append((String(buffer: envelope.data), envelope.remoteAddress)) }
    }
}
