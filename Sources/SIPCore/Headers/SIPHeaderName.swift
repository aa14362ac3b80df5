/// The headers Herald interprets, with their canonical spelling and RFC 3261 §7.3.3 compact
/// forms. Everything else is an extension header kept as raw bytes.
public enum KnownHeader: UInt8, Sendable, CaseIterable {
    case via, from, to, callID, cseq, contact, contentLength, contentType, contentEncoding
    case contentDisposition, event, allowEvents, expires, minExpires, route, recordRoute, path
    case maxForwards, require, proxyRequire, supported, unsupported, allow, accept
    case acceptEncoding, acceptLanguage, authorization, proxyAuthorization, wwwAuthenticate
    case proxyAuthenticate, authenticationInfo, subscriptionState, sipETag, sipIfMatch, date
    case subject, referTo, referredBy, retryAfter, userAgent, server, timestamp, mimeVersion
    case sessionExpires, warning

    public var canonicalName: String {
        switch self {
        case .via: return "Via"
        case .from: return "From"
        case .to: return "To"
        case .callID: return "Call-ID"
        case .cseq: return "CSeq"
        case .contact: return "Contact"
        case .contentLength: return "Content-Length"
        case .contentType: return "Content-Type"
        case .contentEncoding: return "Content-Encoding"
        case .contentDisposition: return "Content-Disposition"
        case .event: return "Event"
        case .allowEvents: return "Allow-Events"
        case .expires: return "Expires"
        case .minExpires: return "Min-Expires"
        case .route: return "Route"
        case .recordRoute: return "Record-Route"
        case .path: return "Path"
        case .maxForwards: return "Max-Forwards"
        case .require: return "Require"
        case .proxyRequire: return "Proxy-Require"
        case .supported: return "Supported"
        case .unsupported: return "Unsupported"
        case .allow: return "Allow"
        case .accept: return "Accept"
        case .acceptEncoding: return "Accept-Encoding"
        case .acceptLanguage: return "Accept-Language"
        case .authorization: return "Authorization"
        case .proxyAuthorization: return "Proxy-Authorization"
        case .wwwAuthenticate: return "WWW-Authenticate"
        case .proxyAuthenticate: return "Proxy-Authenticate"
        case .authenticationInfo: return "Authentication-Info"
        case .subscriptionState: return "Subscription-State"
        case .sipETag: return "SIP-ETag"
        case .sipIfMatch: return "SIP-If-Match"
        case .date: return "Date"
        case .subject: return "Subject"
        case .referTo: return "Refer-To"
        case .referredBy: return "Referred-By"
        case .retryAfter: return "Retry-After"
        case .userAgent: return "User-Agent"
        case .server: return "Server"
        case .timestamp: return "Timestamp"
        case .mimeVersion: return "MIME-Version"
        case .sessionExpires: return "Session-Expires"
        case .warning: return "Warning"
        }
    }

    /// RFC 3261 §7.3.3 and the compact forms registered since (RFC 3265, 3515, 3892, 4028).
    public var compactForm: Character? {
        switch self {
        case .via: return "v"
        case .from: return "f"
        case .to: return "t"
        case .callID: return "i"
        case .contact: return "m"
        case .contentLength: return "l"
        case .contentType: return "c"
        case .contentEncoding: return "e"
        case .event: return "o"
        case .allowEvents: return "u"
        case .supported: return "k"
        case .subject: return "s"
        case .referTo: return "r"
        case .referredBy: return "b"
        case .sessionExpires: return "x"
        default: return nil
        }
    }

    /// Headers whose value is a comma-separated list that may also be split over several
    /// header lines (RFC 3261 §7.3.1).
    public var isList: Bool {
        switch self {
        case .via, .contact, .route, .recordRoute, .path, .require, .proxyRequire, .supported,
            .unsupported, .allow, .accept, .acceptEncoding, .acceptLanguage, .allowEvents:
            return true
        default:
            return false
        }
    }

    /// Headers that a request may carry at most once (RFC 3261 §20, "Header Field Table").
    public var isSingleton: Bool {
        switch self {
        case .from, .to, .callID, .cseq, .contentLength, .contentType, .maxForwards, .expires,
            .minExpires, .event, .subscriptionState, .sipIfMatch, .sipETag:
            return true
        default:
            return false
        }
    }

    /// Lowercased spellings by length, for identifying a header name without allocating.
    static let lookupByLength: [[(spelling: [UInt8], header: KnownHeader)]] = {
        var table = [[(spelling: [UInt8], header: KnownHeader)]](repeating: [], count: 32)
        for header in KnownHeader.allCases {
            let long = Array(header.canonicalName.lowercased().utf8)
            table[long.count].append((long, header))
            if let compact = header.compactForm {
                table[1].append((Array(String(compact).utf8), header))
            }
        }
        return table
    }()

    /// Identifies a header name taken from the wire, case-insensitively (RFC 3261 §7.3.1).
    /// The known header a name (full or compact form, any case) spells, from its bytes.
    public static func identify(_ name: UnsafeBufferPointer<UInt8>) -> KnownHeader? {
        guard name.count < Self.lookupByLength.count else { return nil }
        for candidate in Self.lookupByLength[name.count]
        where ASCII.equalsIgnoringCase(name, candidate.spelling) {
            return candidate.header
        }
        return nil
    }

    public static func identify(_ name: String) -> KnownHeader? {
        var name = name
        return name.withUTF8 { Self.identify($0) }
    }
}

/// A header name used to look headers up: a known header (matching its compact form too) or
/// an extension header compared case-insensitively.
public struct SIPHeaderName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let known: KnownHeader?
    /// Lowercased bytes, for extension headers.
    let lowercasedBytes: [UInt8]
    public let description: String

    public init(_ name: String) {
        self.known = KnownHeader.identify(name)
        self.lowercasedBytes = Array(name.lowercased().utf8)
        self.description = self.known?.canonicalName ?? name
    }

    public init(stringLiteral value: String) { self.init(value) }

    public init(_ known: KnownHeader) {
        self.known = known
        self.lowercasedBytes = Array(known.canonicalName.lowercased().utf8)
        self.description = known.canonicalName
    }

    public static func == (lhs: SIPHeaderName, rhs: SIPHeaderName) -> Bool {
        if let left = lhs.known { return left == rhs.known }
        return rhs.known == nil && lhs.lowercasedBytes == rhs.lowercasedBytes
    }

    public func hash(into hasher: inout Hasher) {
        if let known = self.known { hasher.combine(known) } else { hasher.combine(self.lowercasedBytes) }
    }
}
