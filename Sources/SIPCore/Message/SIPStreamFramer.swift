/// Cuts messages out of a byte stream (RFC 3261 §18.3): a message ends after its header
/// section plus Content-Length bytes of body. Pure, so it is tested byte by byte without sockets.
public struct SIPStreamFramer: Sendable {
    public enum Frame: Sendable, Equatable {
        /// A complete message's bytes.
        case message([UInt8])
        /// A double-CRLF keep-alive ping (RFC 5626 §4.4.1), to be answered with one CRLF.
        case keepAlivePing
    }

    public enum FramingError: Error, Sendable, Equatable {
        /// The stream cannot be re-synchronised: a bad or duplicated Content-Length, or a header
        /// section beyond the size limit. The connection must be closed.
        case unrecoverable(String)
    }

    public let limits: SIPParserLimits
    private var buffer: [UInt8] = []
    private var scanFrom = 0

    public init(limits: SIPParserLimits = SIPParserLimits()) {
        self.limits = limits
    }

    public var bufferedByteCount: Int { self.buffer.count }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        self.buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws(FramingError) -> Frame? {
        // Leading CRLFs: a "\r\n\r\n" is a keep-alive ping; a lone CRLF (the pong, or noise
        // before a start line, RFC 3261 §7.5) is skipped.
        var leading = 0
        while leading < self.buffer.count, self.buffer[leading] == 13 || self.buffer[leading] == 10 { leading += 1 }
        if leading > 0 {
            if leading >= 4, self.buffer[0..<4].elementsEqual([13, 10, 13, 10]) {
                self.consume(4)
                return .keepAlivePing
            }
            if leading == self.buffer.count, leading < 4 { return nil }
            self.consume(leading)
        }
        guard let headerEnd = self.findHeaderEnd() else {
            if self.buffer.count > self.limits.maxMessageSize {
                throw .unrecoverable("header section larger than \(self.limits.maxMessageSize) bytes")
            }
            return nil
        }
        let length = try self.contentLength(headerEnd: headerEnd)
        let total = headerEnd + length
        guard total <= self.limits.maxMessageSize else {
            throw .unrecoverable("message larger than \(self.limits.maxMessageSize) bytes")
        }
        guard self.buffer.count >= total else { return nil }
        let message = Array(self.buffer[0..<total])
        self.consume(total)
        return .message(message)
    }

    private mutating func consume(_ count: Int) {
        self.buffer.removeFirst(count)
        self.scanFrom = 0
    }

    /// Index just past the empty line that ends the header section.
    private mutating func findHeaderEnd() -> Int? {
        var index = max(self.scanFrom, 0)
        while index + 1 < self.buffer.count {
            if self.buffer[index] == 10 {
                if self.buffer[index + 1] == 10 { return index + 2 }
                if self.buffer[index + 1] == 13, index + 2 < self.buffer.count, self.buffer[index + 2] == 10 {
                    return index + 3
                }
            }
            index += 1
        }
        self.scanFrom = max(0, self.buffer.count - 3)
        return nil
    }

    /// Content-Length from the header section (full or compact name). Absent means no body.
    private func contentLength(headerEnd: Int) throws(FramingError) -> Int {
        var result: Int?
        var lineStart = 0
        while lineStart < headerEnd {
            var lineEnd = lineStart
            while lineEnd < headerEnd, self.buffer[lineEnd] != 10 { lineEnd += 1 }
            let line = self.buffer[lineStart..<lineEnd]
            if let colon = line.firstIndex(of: 58) {
                var nameEnd = colon
                while nameEnd > lineStart, self.buffer[nameEnd - 1] == 32 || self.buffer[nameEnd - 1] == 9 { nameEnd -= 1 }
                let name = line[lineStart..<nameEnd]
                if ASCII.equalsIgnoringCase(name, Array("content-length".utf8)) || ASCII.equalsIgnoringCase(name, [108]) {
                    guard result == nil else { throw .unrecoverable("multiple Content-Length headers") }
                    var value = Array(line[(colon + 1)...])
                    if value.last == 13 { value.removeLast() }
                    guard let parsed = DecimalParsing.parse(value, limit: UInt64(Int32.max)) else {
                        throw .unrecoverable("malformed Content-Length header")
                    }
                    result = Int(parsed)
                }
            }
            lineStart = lineEnd + 1
        }
        return result ?? 0
    }
}
