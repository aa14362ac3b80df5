import NIOConcurrencyHelpers
import SIPCore

/// An `OutboundSink` that keeps what would have been sent, for engine tests.
public final class RecordingSink: OutboundSink {
    public struct Sent: Sendable {
        public var bytes: [UInt8]
        public var destination: SIPDestination

        public var response: SIPResponse? {
            guard case .response(let response)? = try? SIPMessageParser.parse(self.bytes) else { return nil }
            return response
        }
        public var text: String { String(decoding: self.bytes, as: UTF8.self) }
    }

    private let box = NIOLockedValueBox<[Sent]>([])
    private let flushBox = NIOLockedValueBox<[Int]>([])
    /// When set, every send fails with this error (to drive transport-error paths).
    private let failure = NIOLockedValueBox<(any Error)?>(nil)

    public init() {}

    public var sent: [Sent] { self.box.withLockedValue { $0 } }
    public var responses: [SIPResponse] { self.sent.compactMap(\.response) }
    /// For each `flushQueued` call, how many messages had been sent by then.
    public var flushes: [Int] { self.flushBox.withLockedValue { $0 } }

    public func flushQueued() {
        let count = self.box.withLockedValue { $0.count }
        self.flushBox.withLockedValue { $0.append(count) }
    }

    public func failSends(with error: (any Error)?) { self.failure.withLockedValue { $0 = error } }

    public func send(_ bytes: [UInt8], to destination: SIPDestination, onFailure: (@Sendable (any Error) -> Void)?) {
        if let error = self.failure.withLockedValue({ $0 }) {
            onFailure?(error)
            return
        }
        self.box.withLockedValue { $0.append(Sent(bytes: bytes, destination: destination)) }
    }
}
