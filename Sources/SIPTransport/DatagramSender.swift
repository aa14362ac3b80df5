import CHeraldDatagrams
import Metrics
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Sends the datagrams of one UDP listener from the datagram loop (which also reads them), not
/// the engine's. At fan-out rates the engine's thread is the server's busiest, and writing
/// through NIO's pipeline from it (a buffer, a promise and a callback per datagram, then
/// `sendmmsg` and the kernel's loopback or NIC path) took a sixth of that thread. Here a send
/// is an append under a lock; the datagrams queued during one burst of the engine's work are
/// handed over together and leave in as few `sendmmsg` calls as the kernel allows, on the
/// other core. Order is kept: one queue, drained in order on one loop.
///
/// The socket is the listener's own (datagrams leave from the port requests arrive on, which
/// RFC 3261 §18.2.2 needs for responses and `rport`), through a descriptor of the sender's own
/// (`dup`), so that NIO closing its channel can never leave the sender writing to a number
/// the kernel has given to another socket. Concurrent reads and writes of one UDP socket from
/// two threads are safe in the kernel.
///
/// A datagram the kernel has no buffer space for is dropped and counted, as a full queue on
/// the path would drop it: SIP over UDP retransmits (RFC 3261 §17), and an event loop never
/// waits for the socket.
final class DatagramSender: @unchecked Sendable {
    // @unchecked: the mutable state lives in the locked box; the rest is immutable.
    struct Outgoing {
        var bytes: [UInt8]
        var address: SocketAddress
        var onFailure: (@Sendable (any Error) -> Void)?
    }

    private struct State {
        var queue: [Outgoing] = []
        var handOffScheduled = false
        var closed = false
        /// The sender's descriptor; -1 once closed.
        var socket: CInt
    }

    private let ownerLoop: any EventLoop
    private let sendLoop: any EventLoop
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - socket: the sender's own descriptor of the listener's bound, non-blocking socket;
    ///     the sender closes it.
    ///   - ownerLoop: the loop whose bursts are batched (the engine's).
    ///   - sendLoop: the loop that sends; the owner loop itself on a one-core machine.
    init(socket: CInt, ownerLoop: any EventLoop, sendLoop: any EventLoop) {
        self.ownerLoop = ownerLoop
        self.sendLoop = sendLoop
        self.state = NIOLockedValueBox(State(socket: socket))
    }

    /// Queues a datagram. From the owner loop it leaves after the current burst of work (or at
    /// `handOff()`), from anywhere else at once. `onFailure` runs on the send loop when the
    /// kernel refuses it (not for a drop for want of buffer space).
    func send(_ bytes: [UInt8], to address: SocketAddress, onFailure: (@Sendable (any Error) -> Void)?) {
        let onOwnerLoop = self.ownerLoop.inEventLoop
        let outcome = self.state.withLockedValue { state -> (closed: Bool, scheduleHandOff: Bool) in
            guard !state.closed else { return (true, false) }
            state.queue.append(Outgoing(bytes: bytes, address: address, onFailure: onFailure))
            guard onOwnerLoop, !state.handOffScheduled else { return (false, false) }
            state.handOffScheduled = true
            return (false, true)
        }
        if outcome.closed {
            onFailure?(SIPTransportError.connectionUnavailable("udp \(address)"))
        } else if outcome.scheduleHandOff {
            // Runs after the tasks and reads already queued on the loop: a fan-out's NOTIFYs go
            // out together.
            self.ownerLoop.execute { self.handOff() }
        } else if !onOwnerLoop {
            self.handOff()
        }
    }

    /// Has what is queued sent from the send loop: at once when called there, else by a task
    /// that takes the queue when it runs. Every send is taken by one drain, and drains run one
    /// after another on one loop, so datagrams leave in the order they were queued.
    func handOff() {
        self.state.withLockedValue { $0.handOffScheduled = false }
        if self.sendLoop.inEventLoop {
            self.drain()
        } else {
            self.sendLoop.execute { self.drain() }
        }
    }

    /// Stops sending and closes the sender's descriptor, on the send loop, after every drain
    /// already scheduled; what is still queued then fails.
    func close() async {
        self.state.withLockedValue { $0.closed = true }
        try? await self.sendLoop.submit { self.drain() }.get()
    }

    /// Closes the sender when the channel it writes for closes (NIO closes a datagram channel
    /// by itself on some socket errors).
    func close(whenClosed channel: any Channel) {
        channel.closeFuture.whenComplete { _ in
            self.state.withLockedValue { $0.closed = true }
            self.sendLoop.execute { self.drain() }
        }
    }

    private func drain() {
        let (batch, socket) = self.state.withLockedValue { state -> ([Outgoing], CInt) in
            defer { state.queue.removeAll(keepingCapacity: true) }
            if state.closed, state.socket >= 0 {
                _ = Glibc.close(state.socket)
                state.socket = -1
            }
            return (state.queue, state.socket)
        }
        guard !batch.isEmpty else { return }
        guard socket >= 0 else {
            for outgoing in batch { outgoing.onFailure?(SIPTransportError.connectionUnavailable("udp \(outgoing.address)")) }
            return
        }
        self.transmit(batch, on: socket)
    }

    /// Runs on the send loop only, which is also where the descriptor is closed.
    private func transmit(_ batch: [Outgoing], on socket: CInt) {
        // One arena for the batch: the bytes and addresses copied in, so the C side sees plain
        // pointers that stay valid for the whole call.
        let addressSize = MemoryLayout<sockaddr_storage>.size
        let byteCount = batch.reduce(0) { $0 + $1.bytes.count }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount + batch.count * addressSize, alignment: 16)
        defer { arena.deallocate() }
        var datagrams = [herald_datagram](repeating: herald_datagram(), count: batch.count)
        var offset = batch.count * addressSize
        for (index, outgoing) in batch.enumerated() {
            let addressSlot = arena.baseAddress! + index * addressSize
            let addressLength = outgoing.address.withSockAddr { pointer, length -> Int in
                addressSlot.copyMemory(from: pointer, byteCount: min(length, addressSize))
                return min(length, addressSize)
            }
            let bytesSlot = arena.baseAddress! + offset
            outgoing.bytes.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { bytesSlot.copyMemory(from: base, byteCount: bytes.count) }
            }
            datagrams[index] = herald_datagram(
                bytes: bytesSlot.assumingMemoryBound(to: UInt8.self), length: outgoing.bytes.count,
                address: addressSlot.assumingMemoryBound(to: sockaddr.self), address_length: socklen_t(addressLength), error: 0)
            offset += outgoing.bytes.count
        }
        let failed = herald_send_datagrams(socket, &datagrams, datagrams.count)
        guard failed > 0 else { return }
        for (index, outgoing) in batch.enumerated() where datagrams[index].error != 0 {
            switch datagrams[index].error {
            case EAGAIN, EWOULDBLOCK, ENOBUFS:
                Self.dropped.increment()
            case let code:
                outgoing.onFailure?(IOError(errnoCode: code, reason: "sendmmsg"))
            }
        }
    }

    static let dropped = Counter(label: "herald_udp_send_dropped_total")
}
