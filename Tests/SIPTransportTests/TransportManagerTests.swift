import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPCore
import Testing
@testable import SIPTransport

/// The transport manager over real loopback sockets.
@Suite struct TransportManagerTests {
    @Test func requestsToOnePeerOverTCPShareTheConnectionOpenedForTheFirst() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // The peer: a TCP server that counts the connections made to it.
        let accepted = NIOLockedValueBox(0)
        let peer = try await ServerBootstrap(group: group).childChannelInitializer { channel in
            accepted.withLockedValue { $0 += 1 }
            return channel.eventLoop.makeSucceededVoidFuture()
        }.bind(host: "127.0.0.1", port: 0).get()
        let manager = try SIPTransportManager(
            configuration: SIPTransportConfiguration(listeners: []), group: group, datagramLoop: group.next(),
            receiver: CollectingReceiver(), logger: Logger(label: "test"))
        try await manager.start()
        let destination = SIPDestination(transport: .tcp, address: try #require(peer.localAddress), connection: nil)
        for _ in 0..<3 {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                manager.send(options, to: destination) { continuation.resume(with: $0) }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(accepted.withLockedValue { $0 } == 1)
        #expect(manager.openConnectionCount(.tcp) == 1)
        await manager.shutdown()
        try await peer.close()
        try await group.shutdownGracefully()
    }
}
