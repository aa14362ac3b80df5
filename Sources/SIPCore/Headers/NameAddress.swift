/// `name-addr` or `addr-spec` with header parameters (RFC 3261 §20.10, §25.1): the value of
/// From, To, Contact, Route, Record-Route, Path, Refer-To and similar headers.
public struct NameAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name as written: a quoted string keeps its quotes and escapes.
    public var displayName: String?
    public var uri: SIPURI
    public var parameters: [SIPParameter]

    public init(displayName: String? = nil, uri: SIPURI, parameters: [SIPParameter] = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    public var tag: String? {
        get { self.parameters.value(of: "tag") ?? nil }
        set {
            if let newValue { self.parameters.set("tag", newValue) } else { self.parameters.remove("tag") }
        }
    }

    /// Always written in name-addr form so URI parameters cannot be taken for header parameters.
    public var description: String {
        var result = ""
        if let displayName = self.displayName, !displayName.isEmpty { result += displayName + " " }
        result += "<" + self.uri.description + ">"
        return result + self.parameters.serialized
    }

    public init(parsing text: String, header: String = "address") throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8), header: header)
    }

    init(bytes: [UInt8], header: String) throws(SIPParseError) {
        var scanner = ByteScanner(bytes)
        scanner.skipWhitespace()
        let uriBytes: ArraySlice<UInt8>
        var displayName: String?
        if scanner.peek == ASCII.quote {
            let start = scanner.index
            guard scanner.readQuotedString() != nil else {
                throw SIPParseError(.malformedHeaderValue, "Unterminated quoted string in \(header) header")
            }
            displayName = String(sipBytes: bytes[start..<scanner.index])
            scanner.skipWhitespace()
            guard scanner.peek == ASCII.lessThan else {
                throw SIPParseError(.malformedHeaderValue, "Malformed \(header) header: expected <URI> after display name")
            }
            uriBytes = try Self.readAngleURI(&scanner, header: header)
        } else if let angle = bytes[scanner.index...].firstIndex(of: ASCII.lessThan) {
            let display = HeaderValueSplitter.trimmed(bytes[scanner.index..<angle])
            guard display.allSatisfy({ ASCII.isToken($0) || ASCII.isWhitespace($0) }) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed display name in \(header) header: quote it")
            }
            if !display.isEmpty { displayName = String(sipBytes: display) }
            scanner.index = angle
            uriBytes = try Self.readAngleURI(&scanner, header: header)
        } else {
            // addr-spec: the URI ends where header parameters start (RFC 3261 §20.10).
            let start = scanner.index
            while let byte = scanner.peek, byte != ASCII.semicolon, !ASCII.isWhitespace(byte) {
                if byte == ASCII.question || byte == ASCII.comma {
                    throw SIPParseError(
                        .malformedHeaderValue, "Malformed \(header) header: a URI with headers must be enclosed in <>")
                }
                scanner.index += 1
            }
            uriBytes = bytes[start..<scanner.index]
        }
        guard !uriBytes.isEmpty else { throw SIPParseError(.malformedHeaderValue, "Missing URI in \(header) header") }
        let uri: SIPURI
        do {
            uri = try SIPURI(bytes: uriBytes)
        } catch {
            throw SIPParseError(.malformedHeaderValue, "Malformed URI in \(header) header")
        }
        let parameters = try scanner.readGenericParameters(header: header)
        scanner.skipWhitespace()
        guard scanner.isAtEnd else {
            throw SIPParseError(.malformedHeaderValue, "Malformed \(header) header: unexpected characters")
        }
        self.init(displayName: displayName, uri: uri, parameters: parameters)
    }

    /// Reads `<URI>`; whitespace just inside the brackets is not allowed (RFC 4475 §3.1.2.14).
    private static func readAngleURI(_ scanner: inout ByteScanner, header: String) throws(SIPParseError) -> ArraySlice<UInt8> {
        scanner.index += 1
        let start = scanner.index
        guard let close = scanner.bytes[start...].firstIndex(of: ASCII.greaterThan) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed \(header) header: missing >")
        }
        let uri = scanner.bytes[start..<close]
        if let first = uri.first, let last = uri.last, ASCII.isWhitespace(first) || ASCII.isWhitespace(last) {
            throw SIPParseError(.malformedHeaderValue, "Malformed \(header) header: whitespace inside <>")
        }
        scanner.index = close + 1
        return uri
    }
}

/// A Contact header value: addresses, or `*` to remove all bindings (RFC 3261 §10.2.2).
public enum ContactValue: Sendable, Hashable {
    case wildcard
    case addresses([NameAddress])
}
