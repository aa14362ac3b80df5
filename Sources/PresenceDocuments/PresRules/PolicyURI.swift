/// An identity URI as authorization rules compare it: `one id`, `except id`, list members,
/// `service-uri` against the watcher's or a tuple's URI.
///
/// For SIP-like `user@host` schemes (sip, sips, pres, im, mailto) the scheme and host compare
/// case-insensitively and the user exactly, after percent-decoding (RFC 3261 §19.1.4: escaped
/// and unescaped characters are equivalent); a password, URI parameters and headers are not
/// part of the identity (an address of record, RFC 3261 §10.3, carries none; resource lists
/// often add `;user=phone`). Every other scheme (`tel:` included) compares verbatim after a
/// case-insensitive scheme.
struct PolicyURI: Hashable, Sendable {
    var scheme: String
    var user: String?
    var host: String?
    /// The part after the scheme, for schemes compared verbatim.
    var opaque: String?

    static let userAtHostSchemes: Set<String> = ["sip", "sips", "pres", "im", "mailto"]

    init?(_ text: String) {
        let trimmed = text.trimmedXMLWhitespace
        guard let colon = trimmed.firstIndex(of: ":") else { return nil }
        let scheme = trimmed[..<colon].lowercased()
        // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first),
              scheme.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return nil }
        self.scheme = scheme
        let rest = trimmed[trimmed.index(after: colon)...]
        guard Self.userAtHostSchemes.contains(scheme) else {
            self.opaque = String(rest)
            return
        }
        var hostPart = rest
        if let at = rest.firstIndex(of: "@") {
            var userInfo = rest[..<at]
            if let passwordColon = userInfo.firstIndex(of: ":") { userInfo = userInfo[..<passwordColon] }
            self.user = Self.percentDecoded(userInfo)
            hostPart = rest[rest.index(after: at)...]
        }
        if let end = hostPart.firstIndex(where: { $0 == ";" || $0 == "?" }) { hostPart = hostPart[..<end] }
        guard !hostPart.isEmpty else { return nil }
        self.host = Self.percentDecoded(hostPart).lowercased()
    }

    /// The host without a port: what `many domain="…"` and `except domain="…"` compare with.
    var domain: String? {
        guard let host = self.host else { return nil }
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return host }
            return String(host[...close])
        }
        if let colon = host.firstIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// Whether two URI strings name the same identity; unparsable strings compare verbatim.
    static func sameIdentity(_ lhs: String, _ rhs: String) -> Bool {
        guard let left = PolicyURI(lhs), let right = PolicyURI(rhs) else {
            return lhs.trimmedXMLWhitespace == rhs.trimmedXMLWhitespace
        }
        return left == right
    }

    /// Whether `uri`'s domain is `domain` (DNS names compare case-insensitively).
    static func isInDomain(_ uri: String, domain: String) -> Bool {
        guard let uriDomain = PolicyURI(uri)?.domain else { return false }
        return uriDomain == domain.trimmedXMLWhitespace.lowercased()
    }

    /// `%XX` escapes decoded as UTF-8; malformed escapes are kept as written.
    static func percentDecoded(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
               let high = Self.hexValue(utf8[index + 1]), let low = Self.hexValue(utf8[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
