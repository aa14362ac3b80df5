/// A cursor over an unfolded header value, with the small vocabulary of RFC 3261 §25.1:
/// LWS, tokens, quoted strings and separators with optional whitespace around them (SWS).
struct ByteScanner {
    let bytes: [UInt8]
    var index: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
    }

    var isAtEnd: Bool { self.index >= self.bytes.count }
    var peek: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }
    var remaining: ArraySlice<UInt8> { self.bytes[min(self.index, self.bytes.count)...] }

    mutating func skipWhitespace() {
        while self.index < self.bytes.count, ASCII.isWhitespace(self.bytes[self.index]) { self.index += 1 }
    }

    /// Consumes `byte` with optional whitespace on both sides (SWS "x" SWS).
    mutating func consumeSeparator(_ byte: UInt8) -> Bool {
        let saved = self.index
        self.skipWhitespace()
        if self.peek == byte {
            self.index += 1
            self.skipWhitespace()
            return true
        }
        self.index = saved
        return false
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        if self.peek == byte {
            self.index += 1
            return true
        }
        return false
    }

    mutating func readToken() -> ArraySlice<UInt8> {
        let start = self.index
        while self.index < self.bytes.count, ASCII.isToken(self.bytes[self.index]) { self.index += 1 }
        return self.bytes[start..<self.index]
    }

    mutating func readWhile(_ predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = self.index
        while self.index < self.bytes.count, predicate(self.bytes[self.index]) { self.index += 1 }
        return self.bytes[start..<self.index]
    }

    /// Reads a quoted-string starting at the opening quote; returns the content with escapes
    /// kept as written (RFC 3261 §25.1 `quoted-pair`), or nil when it is not terminated.
    mutating func readQuotedString() -> ArraySlice<UInt8>? {
        guard self.peek == ASCII.quote else { return nil }
        let start = self.index + 1
        var cursor = start
        while cursor < self.bytes.count {
            let byte = self.bytes[cursor]
            if byte == ASCII.backslash {
                cursor += 2
                continue
            }
            if byte == ASCII.quote {
                self.index = cursor + 1
                return self.bytes[start..<cursor]
            }
            cursor += 1
        }
        return nil
    }
}

/// A `;name[=value]` parameter (RFC 3261 §25.1 `generic-param`); names compare
/// case-insensitively, values are kept as written (a quoted value keeps its quotes).
public struct SIPParameter: Sendable, Hashable {
    public var name: String
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }
}

extension [SIPParameter] {
    /// The value of the first parameter named `name`; `.some(nil)` for a flag parameter.
    public func value(of name: String) -> String?? {
        for parameter in self where ASCII.equalsIgnoringCase(parameter.name, name) {
            return .some(parameter.value)
        }
        return .none
    }

    public func contains(_ name: String) -> Bool { self.value(of: name) != nil }

    public mutating func set(_ name: String, _ value: String?) {
        if let index = self.firstIndex(where: { ASCII.equalsIgnoringCase($0.name, name) }) {
            self[index].value = value
        } else {
            self.append(SIPParameter(name, value))
        }
    }

    public mutating func remove(_ name: String) {
        self.removeAll { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// `;name=value;flag` as written on the wire.
    public var serialized: String {
        var result = ""
        for parameter in self {
            result += ";" + parameter.name
            if let value = parameter.value { result += "=" + value }
        }
        return result
    }
}

extension ByteScanner {
    /// Parses `*( SEMI generic-param )` as used after Via, name-addr and other header values.
    /// A parameter value is a token, a host (IPv6 reference included) or a quoted string.
    mutating func readGenericParameters(header: String) throws(SIPParseError) -> [SIPParameter] {
        var parameters = [SIPParameter]()
        while self.consumeSeparator(ASCII.semicolon) {
            let name = self.readToken()
            guard !name.isEmpty else {
                throw SIPParseError(.malformedHeaderValue, "Empty parameter in \(header) header")
            }
            var value: String?
            if self.consumeSeparator(ASCII.equals) {
                if self.peek == ASCII.quote {
                    let start = self.index
                    guard self.readQuotedString() != nil else {
                        throw SIPParseError(.malformedHeaderValue, "Unterminated quoted string in \(header) header")
                    }
                    value = String(sipBytes: self.bytes[start..<self.index])
                } else {
                    let raw = self.readWhile { ASCII.isToken($0) || $0 == ASCII.colon || $0 == ASCII.leftBracket || $0 == ASCII.rightBracket }
                    value = String(sipBytes: raw)
                }
            }
            parameters.append(SIPParameter(String(sipBytes: name), value))
        }
        return parameters
    }
}
