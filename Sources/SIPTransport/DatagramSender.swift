import CHeraldDatagrams
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Sends the datagrams of one UDP listener from another event loop than the one that reads
/// them. The engine runs on the datagram loop, which at fan-out rates is the server's busiest
/// thread; writing through NIO's pipeline from it (a buffer, a promise and a callback per
/// datagram, then `sendmmsg` and the kernel's loopback or NIC path) took a sixth of that thread.
/// Here a send is an append under a lock; the datagrams queued during one burst of the engine's
/// work are handed over together and leave in as few `sendmmsg` calls as the kernel allows, on
/// the other core. Order is kept: one queue, handed over in order to one loop that runs its
/// tasks in order.
///
/// The socket is the listener's own (datagrams leave from the port requests arrive on, which
/// RFC 3261 §18.2.2 needs for responses and `rport`); concurrent reads and writes of one UDP
/// socket from two threads are safe in the kernel.
final class DatagramSender: @unchecked Sendable {
    // @unchecked: `queue` and `closed` live in the locked box; the rest is immutable.
    struct Outgoing {
        var bytes: [UInt8]
        var address: SocketAddress
        var onFailure: (@Sendable (any Error) -> Void)?
    }

    private struct State {
        var queue: [Outgoing] = []
        var handOffScheduled = false
        var closed = false
    }

    private let socket: CInt
    private let ownerLoop: any EventLoop
    private let sendLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    /// A full socket buffer is waited out this long per datagram before the datagram fails.
    static let sendBufferWaitMilliseconds: CInt = 50

    /// - Parameters:
    ///   - socket: the listener's bound, non-blocking descriptor (owned by its channel).
    ///   - ownerLoop: the loop whose bursts are batched (the engine's, which reads the socket).
    ///   - sendLoop: the loop that sends; the owner loop itself on a one-core machine.
    init(socket: CInt, ownerLoop: any EventLoop, sendLoop: any EventLoop) {
        self.socket = socket
        self.ownerLoop = ownerLoop
        self.sendLoop = sendLoop
    }

    /// Queues a datagram. From the owner loop it leaves after the current burst of work (or at
    /// `handOff()`), from anywhere else at once. `onFailure` runs on the send loop when the
    /// kernel refuses it.
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

    /// Hands what is queued to the send loop now.
    func handOff() {
        let batch = self.state.withLockedValue { state -> [Outgoing] in
            state.handOffScheduled = false
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        guard !batch.isEmpty else { return }
        if self.sendLoop === self.ownerLoop {
            self.transmit(batch)
        } else {
            self.sendLoop.execute { self.transmit(batch) }
        }
    }

    /// Stops sending (before the socket is closed): what is queued or handed over fails.
    func close() async {
        self.state.withLockedValue { $0.closed = true }
        self.handOff()
        // Every batch handed over before `closed` was set has run once this task has.
        try? await self.sendLoop.submit {}.get()
    }

    private func transmit(_ batch: [Outgoing]) {
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
        let closed = self.state.withLockedValue { $0.closed }
        let failed = closed ? batch.count : herald_send_datagrams(self.socket, &datagrams, datagrams.count, Self.sendBufferWaitMilliseconds)
        guard failed > 0 else { return }
        for (index, outgoing) in batch.enumerated() where closed || datagrams[index].error != 0 {
            let error: any Error =
                closed
                ? SIPTransportError.connectionUnavailable("udp \(outgoing.address)")
                : IOError(errnoCode: datagrams[index].error, reason: "sendmmsg")
            outgoing.onFailure?(error)
        }
    }
}
