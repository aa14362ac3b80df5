extension SIPURI {
    /// Parses a URI (RFC 3261 §19.1.1 and §25.1 `SIP-URI`, `SIPS-URI`, `absoluteURI`).
    public init(parsing text: String) throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8)[...])
    }

    init(bytes: ArraySlice<UInt8>) throws(SIPParseError) {
        guard let colon = bytes.firstIndex(of: ASCII.colon), colon > bytes.startIndex else {
            throw SIPParseError(.malformedRequestURI, "Malformed URI: no scheme")
        }
        let schemeBytes = bytes[bytes.startIndex..<colon]
        guard let first = schemeBytes.first, ASCII.isAlpha(first),
            schemeBytes.allSatisfy({ ASCII.isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == ASCII.dot })
        else {
            throw SIPParseError(.malformedRequestURI, "Malformed URI scheme")
        }
        let rest = bytes[(colon + 1)...]
        guard !rest.isEmpty, !rest.contains(where: { $0 <= ASCII.space || $0 == 127 }) else {
            throw SIPParseError(.malformedRequestURI, "Malformed URI: empty or contains whitespace")
        }
        let schemeName = String(sipBytes: schemeBytes).lowercased()
        switch schemeName {
        case "sip", "sips":
            self.init(host: "")
            self.scheme = schemeName == "sip" ? .sip : .sips
            try self.parseSIP(rest)
        case "tel":
            self.init(host: "")
            self.scheme = .tel
            try self.parseTel(rest)
        default:
            self.init(host: "")
            self.scheme = .other(String(sipBytes: schemeBytes))
            self.opaque = String(sipBytes: rest)
        }
    }

    private mutating func parseSIP(_ rest: ArraySlice<UInt8>) throws(SIPParseError) {
        var hostStart = rest.startIndex
        if let at = rest.firstIndex(of: ASCII.at) {
            let userinfo = rest[rest.startIndex..<at]
            let userEnd = userinfo.firstIndex(of: ASCII.colon) ?? userinfo.endIndex
            let user = userinfo[userinfo.startIndex..<userEnd]
            guard !user.isEmpty, Self.isValidEscaped(user, extra: "&=+$,;?/") else {
                throw SIPParseError(.malformedRequestURI, "Malformed URI user part")
            }
            self.user = String(sipBytes: user)
            if userEnd < userinfo.endIndex {
                let password = userinfo[(userEnd + 1)...]
                guard Self.isValidEscaped(password, extra: "&=+$,") else {
                    throw SIPParseError(.malformedRequestURI, "Malformed URI password")
                }
                self.password = String(sipBytes: password)
            }
            hostStart = at + 1
        }
        var index = hostStart
        if index < rest.endIndex, rest[index] == ASCII.leftBracket {
            guard let close = rest[index...].firstIndex(of: ASCII.rightBracket),
                HostValidation.isIPv6(rest[(index + 1)..<close])
            else {
                throw SIPParseError(.malformedRequestURI, "Malformed IPv6 reference in URI")
            }
            index = close + 1
        } else {
            while index < rest.endIndex, ASCII.isAlphanumeric(rest[index]) || rest[index] == ASCII.dot
                || rest[index] == UInt8(ascii: "-") || rest[index] == UInt8(ascii: "_")
            {
                index += 1
            }
            let host = rest[hostStart..<index]
            guard HostValidation.isHostname(host) || HostValidation.isIPv4(host) else {
                throw SIPParseError(.malformedRequestURI, "Malformed URI host")
            }
        }
        self.host = String(sipBytes: rest[hostStart..<index])
        if index < rest.endIndex, rest[index] == ASCII.colon {
            index += 1
            let portStart = index
            while index < rest.endIndex, ASCII.isDigit(rest[index]) { index += 1 }
            guard index > portStart, index - portStart <= 5, let port = Int(String(sipBytes: rest[portStart..<index])),
                port <= 65535
            else {
                throw SIPParseError(.malformedRequestURI, "Malformed URI port")
            }
            self.port = port
        }
        let (parameters, headers) = try Self.parseParametersAndHeaders(rest[index...])
        self.parameters = parameters
        self.headers = headers
    }

    private mutating func parseTel(_ rest: ArraySlice<UInt8>) throws(SIPParseError) {
        let numberEnd = rest.firstIndex(of: ASCII.semicolon) ?? rest.endIndex
        let number = rest[rest.startIndex..<numberEnd]
        guard !number.isEmpty, Self.isValidEscaped(number, extra: "+-.()*#") else {
            throw SIPParseError(.malformedRequestURI, "Malformed tel URI number")
        }
        self.user = String(sipBytes: number)
        let (parameters, headers) = try Self.parseParametersAndHeaders(rest[numberEnd...])
        guard headers.isEmpty else { throw SIPParseError(.malformedRequestURI, "Malformed tel URI") }
        self.parameters = parameters
    }

    private static func parseParametersAndHeaders(
        _ bytes: ArraySlice<UInt8>
    ) throws(SIPParseError) -> ([SIPParameter], [SIPParameter]) {
        var parameters = [SIPParameter]()
        var headers = [SIPParameter]()
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == ASCII.semicolon {
            let start = index + 1
            var end = start
            while end < bytes.endIndex, bytes[end] != ASCII.semicolon, bytes[end] != ASCII.question { end += 1 }
            let parameter = bytes[start..<end]
            guard !parameter.isEmpty, Self.isValidEscaped(parameter, extra: "[]/:&+$=") else {
                throw SIPParseError(.malformedRequestURI, "Malformed URI parameter")
            }
            if let equals = parameter.firstIndex(of: ASCII.equals) {
                guard equals > start else { throw SIPParseError(.malformedRequestURI, "Malformed URI parameter") }
                parameters.append(
                    SIPParameter(String(sipBytes: parameter[start..<equals]), String(sipBytes: parameter[(equals + 1)...])))
            } else {
                parameters.append(SIPParameter(String(sipBytes: parameter)))
            }
            index = end
        }
        if index < bytes.endIndex, bytes[index] == ASCII.question {
            let headerBytes = bytes[(index + 1)...]
            for header in headerBytes.split(separator: ASCII.ampersand, omittingEmptySubsequences: false) {
                guard let equals = header.firstIndex(of: ASCII.equals), equals > header.startIndex,
                    Self.isValidEscaped(header, extra: "[]/?:+$=")
                else {
                    throw SIPParseError(.malformedRequestURI, "Malformed URI header")
                }
                headers.append(
                    SIPParameter(String(sipBytes: header[header.startIndex..<equals]), String(sipBytes: header[(equals + 1)...])))
            }
            index = bytes.endIndex
        }
        guard index == bytes.endIndex else {
            throw SIPParseError(.malformedRequestURI, "Malformed URI: unexpected characters after host")
        }
        return (parameters, headers)
    }

    /// Unreserved characters, `%HH` escapes, and the extra characters a component allows.
    private static func isValidEscaped(_ bytes: ArraySlice<UInt8>, extra: StaticString) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == ASCII.percent {
                guard index + 2 < bytes.endIndex, ASCII.isHexDigit(bytes[index + 1]), ASCII.isHexDigit(bytes[index + 2])
                else { return false }
                index += 3
                continue
            }
            if !ASCII.isUnreserved(byte) && !Self.contains(extra, byte) { return false }
            index += 1
        }
        return true
    }

    private static func contains(_ set: StaticString, _ byte: UInt8) -> Bool {
        set.withUTF8Buffer { $0.contains(byte) }
    }
}
