/// `CSeq: 1*DIGIT LWS Method` (RFC 3261 §20.16). The number is below 2**31 when a UA makes
/// it (§8.1.1.5); a receiver accepts up to 2**32-1 and rejects anything larger (RFC 4475 §3.1.2.4).
public struct CSeq: Sendable, Hashable, CustomStringConvertible {
    public var sequenceNumber: UInt32
    public var method: SIPMethod

    public init(_ sequenceNumber: UInt32, _ method: SIPMethod) {
        self.sequenceNumber = sequenceNumber
        self.method = method
    }

    public var description: String { "\(self.sequenceNumber) \(self.method.rawValue)" }

    init(bytes: [UInt8]) throws(SIPParseError) {
        var scanner = ByteScanner(bytes)
        scanner.skipWhitespace()
        let digits = scanner.readWhile(ASCII.isDigit)
        guard !digits.isEmpty, digits.count <= 10, let number = UInt32(String(sipBytes: digits)) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed CSeq header: sequence number missing or too large")
        }
        let beforeMethod = scanner.index
        scanner.skipWhitespace()
        let separated = scanner.index > beforeMethod
        let method = scanner.readToken()
        scanner.skipWhitespace()
        guard separated, !method.isEmpty, scanner.isAtEnd else {
            throw SIPParseError(.malformedHeaderValue, "Malformed CSeq header")
        }
        self.sequenceNumber = number
        self.method = method.withUnsafeBufferPointer { SIPMethod.fromBytes($0) }
    }
}

/// `media-type` of Content-Type and Accept (RFC 3261 §20.15): type, subtype and parameters.
public struct MediaType: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var subtype: String
    public var parameters: [SIPParameter]

    public init(_ type: String, _ subtype: String, parameters: [SIPParameter] = []) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    public var description: String { "\(self.type)/\(self.subtype)" + self.parameters.serialized }
    public var essence: String { "\(self.type)/\(self.subtype)" }

    public func matches(_ other: MediaType) -> Bool {
        (self.type == "*" || other.type == "*" || self.type == other.type)
            && (self.subtype == "*" || other.subtype == "*" || self.subtype == other.subtype)
    }

    public init(parsing text: String) throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8))
    }

    init(bytes: [UInt8]) throws(SIPParseError) {
        var scanner = ByteScanner(bytes)
        scanner.skipWhitespace()
        let type = scanner.readToken()
        guard !type.isEmpty, scanner.consumeSeparator(ASCII.slash) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed media type")
        }
        let subtype = scanner.readToken()
        guard !subtype.isEmpty else { throw SIPParseError(.malformedHeaderValue, "Malformed media type") }
        let parameters = try scanner.readGenericParameters(header: "Content-Type")
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw SIPParseError(.malformedHeaderValue, "Malformed media type") }
        self.init(String(sipBytes: type), String(sipBytes: subtype), parameters: parameters)
    }
}

enum DecimalParsing {
    /// `1*DIGIT` with surrounding whitespace; nil when not a number. Values beyond `limit`
    /// are clamped to it (RFC 3261 §20.19: an overlarge Expires is treated as the maximum).
    static func parse<C: BidirectionalCollection>(_ bytes: C, limit: UInt64) -> UInt64? where C.Element == UInt8 {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, ASCII.isWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, ASCII.isWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        guard start < end else { return nil }
        var value: UInt64 = 0
        var index = start
        while index < end {
            let byte = bytes[index]
            guard ASCII.isDigit(byte) else { return nil }
            if value <= limit { value = value * 10 + UInt64(byte - 48) }
            index = bytes.index(after: index)
        }
        return min(value, limit)
    }
}
