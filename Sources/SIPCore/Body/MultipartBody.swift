/// A MIME multipart body (RFC 2046 §5.1, as SIP uses it per RFC 5621): parts with their own
/// headers and opaque bodies. Parts are byte slices: binary content is never decoded.
public struct MultipartBody: Sendable {
    public struct Part: Sendable {
        public var headers: SIPHeaders
        public var body: [UInt8]

        public init(headers: SIPHeaders, body: [UInt8]) {
            self.headers = headers
            self.body = body
        }

        public var contentType: MediaType? {
            guard let field = self.headers.fields.first(where: { $0.known == .contentType }) else { return nil }
            return try? MediaType(bytes: field.valueBytes)
        }
    }

    public var boundary: String
    public var parts: [Part]

    /// A body to send. The boundary must not occur in any part (RFC 2046 §5.1.1); a random
    /// one of `randomBoundary()` does not, in practice.
    public init(boundary: String, parts: [Part]) {
        self.boundary = boundary
        self.parts = parts
    }

    /// 32 random hexadecimal digits: a boundary no part will contain.
    public static func randomBoundary() -> String {
        (0..<4).map { _ in String(UInt32.random(in: .min ... .max), radix: 16).leftPadded(to: 8) }.joined()
    }

    /// The body as RFC 2046 §5.1.1 writes it: each part after a `--boundary` line, its headers,
    /// an empty line and its bytes; the CRLF before each delimiter belongs to the delimiter.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(self.parts.reduce(64) { $0 + $1.body.count + 128 })
        let delimiter = Array("--\(self.boundary)".utf8)
        for (index, part) in self.parts.enumerated() {
            if index > 0 { bytes.append(contentsOf: [ASCII.cr, ASCII.lf]) }
            bytes.append(contentsOf: delimiter)
            bytes.append(contentsOf: [ASCII.cr, ASCII.lf])
            for field in part.headers.fields {
                bytes.append(contentsOf: field.line)
                bytes.append(contentsOf: [ASCII.cr, ASCII.lf])
            }
            bytes.append(contentsOf: [ASCII.cr, ASCII.lf])
            bytes.append(contentsOf: part.body)
        }
        bytes.append(contentsOf: [ASCII.cr, ASCII.lf])
        bytes.append(contentsOf: delimiter)
        bytes.append(contentsOf: "--\r\n".utf8)
        return bytes
    }

    /// Splits `body` at `--boundary` delimiters. The text before the first delimiter (preamble)
    /// and after the closing one (epilogue) is ignored.
    public init(parsing body: ArraySlice<UInt8>, contentType: MediaType) throws(SIPParseError) {
        guard contentType.type == "multipart",
            let rawBoundary = contentType.parameters.value(of: "boundary") ?? nil, !rawBoundary.isEmpty
        else {
            throw SIPParseError(.malformedBody, "Multipart body without a boundary parameter")
        }
        var boundary = rawBoundary
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 {
            boundary = String(boundary.dropFirst().dropLast())
        }
        self.boundary = boundary
        let bytes = Array(body)
        let delimiter = Array("--\(boundary)".utf8)
        var positions = [Int]()
        var index = 0
        while let found = Self.find(delimiter, in: bytes, from: index) {
            // A delimiter starts a line: at the body start or after CRLF/LF.
            if found == 0 || bytes[found - 1] == ASCII.lf { positions.append(found) }
            index = found + delimiter.count
        }
        guard positions.count >= 2 else {
            throw SIPParseError(.malformedBody, "Multipart body without opening and closing boundaries")
        }
        var parts = [Part]()
        for (number, start) in positions.enumerated() {
            var cursor = start + delimiter.count
            if cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: "-"), bytes[cursor + 1] == UInt8(ascii: "-") {
                break
            }
            guard number + 1 < positions.count else {
                throw SIPParseError(.malformedBody, "Multipart body without a closing boundary")
            }
            while cursor < bytes.count, bytes[cursor] != ASCII.lf { cursor += 1 }
            cursor += 1
            var end = positions[number + 1]
            // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
            if end > cursor, bytes[end - 1] == ASCII.lf { end -= 1 }
            if end > cursor, bytes[end - 1] == ASCII.cr { end -= 1 }
            parts.append(try Self.parsePart(Array(bytes[min(cursor, end)..<end])))
        }
        self.parts = parts
    }

    private static func parsePart(_ bytes: [UInt8]) throws(SIPParseError) -> Part {
        // A part is headers, an empty line, and a body: the same shape as a message without a
        // start line, so reuse the message splitter with a synthetic start line.
        var framed = Array("X-PART sip:part SIP/2.0\r\n".utf8)
        framed.append(contentsOf: bytes)
        let message: SIPMessage
        do {
            message = try SIPMessageParser.parse(framed, limits: SIPParserLimits(maxMessageSize: Int.max, maxHeaderCount: 64))
        } catch {
            throw SIPParseError(.malformedBody, "Malformed multipart body part: \(error.error.reason)")
        }
        guard case .request(let request) = message else {
            throw SIPParseError(.malformedBody, "Malformed multipart body part")
        }
        return Part(headers: request.headers, body: Array(request.body))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
