import NIOCore

/// The transports of RFC 3261 §18 and RFC 5630 that Herald listens on.
public enum SIPTransportKind: String, Sendable, Hashable, CaseIterable {
    case udp, tcp, tls

    public var isReliable: Bool { self != .udp }
    /// The Via transport token (RFC 3261 §20.42).
    public var viaToken: String { self.rawValue.uppercased() }
    public var defaultPort: Int { self == .tls ? 5061 : 5060 }
}

/// Identifies one stream connection, so a response goes back on the connection its request
/// came in on (RFC 3261 §18.2.2).
public struct SIPConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "conn#\(self.rawValue)" }
}

/// A message as it came off the wire, before parsing.
public struct InboundPacket: Sendable {
    public var bytes: [UInt8]
    public var transport: SIPTransportKind
    /// The peer's address: where a datagram came from, or the far end of the connection.
    public var source: SocketAddress
    public var connection: SIPConnectionID?
    /// The local listener's address, for Via/Record-Route and for "is this for me?" checks.
    public var local: SocketAddress?
    /// `bytes` parsed by the transport on its own loop (datagrams are, off the engine's
    /// thread); nil: the receiver parses them.
    public var parsed: Result<SIPMessage, SIPParseFailure>?

    public init(
        bytes: [UInt8], transport: SIPTransportKind, source: SocketAddress, connection: SIPConnectionID?, local: SocketAddress?,
        parsed: Result<SIPMessage, SIPParseFailure>? = nil
    ) {
        self.bytes = bytes
        self.transport = transport
        self.source = source
        self.connection = connection
        self.local = local
        self.parsed = parsed
    }
}

/// Where to send a message: a transport and an IP address, plus the connection to prefer
/// when it is still open.
public struct SIPDestination: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransportKind
    public var address: SocketAddress
    public var connection: SIPConnectionID?

    public init(transport: SIPTransportKind, address: SocketAddress, connection: SIPConnectionID? = nil) {
        self.transport = transport
        self.address = address
        self.connection = connection
    }

    public var description: String { "\(self.transport.rawValue):\(self.address)" }
}

/// The one way the protocol layers send bytes: implemented by the socket transports in
/// production and by a recording sink in tests.
public protocol OutboundSink: Sendable {
    /// Sends `bytes`; `onFailure` (when given) runs, on any thread, if the transport cannot
    /// take them (RFC 3261 §17 transport errors feed the transaction state machines). Nothing
    /// waits for a success, so none is reported.
    func send(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?)
    /// Hands over at once what `send` queued from the caller's event loop. Datagrams queued
    /// there otherwise leave together after the current burst (one `sendmmsg` for a fan-out);
    /// this is for an answer that should not wait while more is built behind it. (It leaves
    /// from the transport's own loop, in order with everything sent before it.)
    func flushQueued()
}

extension OutboundSink {
    public func flushQueued() {}
}

/// Receives every packet the transports read.
public protocol SIPPacketReceiver: Sendable {
    func receive(_ packet: InboundPacket)
    /// Packets read together (one `recvmmsg`), in order: one hand-over for all of them.
    /// `handled` runs, on any thread, once they all have been handled (the reader stops
    /// reading while too many are waiting).
    func receive(batch: [InboundPacket], handled: @escaping @Sendable () -> Void)
}

extension SIPPacketReceiver {
    public func receive(batch: [InboundPacket], handled: @escaping @Sendable () -> Void) {
        for packet in batch { self.receive(packet) }
        handled()
    }
}
