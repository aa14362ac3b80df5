/// A URI as SIP uses it (RFC 3261 §19.1): `sip`/`sips` with user, host, port, parameters and
/// headers; `tel` (RFC 3966) with its number in `user`; any other absolute URI kept opaque.
/// Components keep their escapes as written, so serializing gives back the same text.
public struct SIPURI: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: Sendable, Hashable {
        case sip, sips, tel
        case other(String)

        public var name: String {
            switch self {
            case .sip: return "sip"
            case .sips: return "sips"
            case .tel: return "tel"
            case .other(let name): return name
            }
        }
    }

    public var scheme: Scheme
    /// Escaped user part; for `tel` URIs, the telephone number.
    public var user: String?
    public var password: String?
    /// Host name, IPv4 address or bracketed IPv6 reference; empty for `tel` and opaque URIs.
    public var host: String
    public var port: Int?
    public var parameters: [SIPParameter]
    /// URI headers (`?name=value&...`), escaped as written.
    public var headers: [SIPParameter]
    /// Everything after `scheme:` for schemes Herald does not interpret.
    public var opaque: String?

    public init(
        scheme: Scheme = .sip, user: String? = nil, password: String? = nil, host: String,
        port: Int? = nil, parameters: [SIPParameter] = [], headers: [SIPParameter] = []
    ) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = headers
        self.opaque = nil
    }

    public var isSIP: Bool { self.scheme == .sip || self.scheme == .sips }

    /// The host without IPv6 brackets, lowercased, as used to compare domains.
    public var hostKey: String {
        var host = self.host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// The user part with %-escapes decoded (RFC 3261 §19.1.4 compares unescaped). Escaped NULs
    /// stay in the string: a Swift String is not NUL-terminated (RFC 4475 §3.1.1.4).
    public var unescapedUser: String? { self.user.map(Self.unescape) }

    /// The address-of-record key, `sip:user@host` unescaped and lowercased host, without port
    /// and parameters (RFC 3261 §10.3 step 5).
    public var addressOfRecord: String {
        var result = (self.scheme == .sips ? "sip" : self.scheme.name) + ":"
        if let user = self.user { result += Self.canonicalEscaping(user) + "@" }
        return result + self.hostKey
    }

    /// Escapes exactly the characters a user part may not carry unescaped, so equal users
    /// (`%61lice`, `alice`) give one key and escaped NULs survive C-string APIs.
    static func canonicalEscaping(_ escaped: String) -> String {
        let allowed = "&=+$,;?/"
        var result = ""
        for byte in Self.unescape(escaped).utf8 {
            if ASCII.isUnreserved(byte) || allowed.utf8.contains(byte) {
                result.append(Character(Unicode.Scalar(byte)))
            } else {
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
            }
        }
        return result
    }

    public func parameter(_ name: String) -> String?? { self.parameters.value(of: name) }

    public var description: String {
        var result = self.scheme.name + ":"
        if let opaque = self.opaque { return result + opaque }
        if let user = self.user {
            result += user
            if let password = self.password { result += ":" + password }
            if self.scheme != .tel { result += "@" }
        }
        result += self.host
        if let port = self.port { result += ":" + String(port) }
        result += self.parameters.serialized
        if !self.headers.isEmpty {
            result += "?" + self.headers.map { $0.name + "=" + ($0.value ?? "") }.joined(separator: "&")
        }
        return result
    }

    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(ASCII.percent) else { return text }
        let bytes = Array(text.utf8)
        var result = [UInt8]()
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == ASCII.percent, index + 2 < bytes.count,
                let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
            {
                result.append(high << 4 | low)
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(sipBytes: result)
    }

    /// URI equality of RFC 3261 §19.1.4: unescaped user and password case-sensitive, host
    /// case-insensitive, ports equal, the parameters `user`, `ttl`, `method`, `maddr` and
    /// `transport` equal when present in either, other parameters equal when present in both,
    /// and headers equal.
    public func isEquivalent(to other: SIPURI) -> Bool {
        guard self.scheme == other.scheme else { return false }
        if let opaque = self.opaque { return opaque == other.opaque }
        guard self.unescapedUser == other.unescapedUser,
            self.password.map(Self.unescape) == other.password.map(Self.unescape),
            self.hostKey == other.hostKey, self.port == other.port
        else { return false }
        let mustMatch: Set<String> = ["user", "ttl", "method", "maddr", "transport"]
        var names = Set(self.parameters.map { $0.name.lowercased() })
        names.formUnion(other.parameters.map { $0.name.lowercased() })
        for name in names {
            let mine = self.parameters.value(of: name)
            let theirs = other.parameters.value(of: name)
            if mine == nil || theirs == nil {
                if mustMatch.contains(name) { return false }
                continue
            }
            if (mine ?? nil).map({ Self.unescape($0).lowercased() }) != (theirs ?? nil).map({ Self.unescape($0).lowercased() }) {
                return false
            }
        }
        let myHeaders = Set(self.headers.map { SIPParameter($0.name.lowercased(), $0.value.map(Self.unescape)) })
        let theirHeaders = Set(other.headers.map { SIPParameter($0.name.lowercased(), $0.value.map(Self.unescape)) })
        return myHeaders == theirHeaders
    }
}
