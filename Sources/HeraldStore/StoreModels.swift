/// A user of a served domain. Only digest HA1 values are kept, never the password
/// (RFC 7616 §3.4.2: HA1 = H(username ":" realm ":" password), realm = the domain).
public struct UserRecord: Sendable, Equatable {
    public var username: String
    public var domain: String
    public var ha1MD5: String
    public var ha1SHA256: String

    public init(username: String, domain: String, ha1MD5: String, ha1SHA256: String) {
        self.username = username
        self.domain = domain.lowercased()
        self.ha1MD5 = ha1MD5
        self.ha1SHA256 = ha1SHA256
    }

    public var addressOfRecord: String { "\(self.username)@\(self.domain)" }
}

/// A registered contact of an address-of-record (RFC 3261 §10.3).
public struct BindingRecord: Sendable, Equatable {
    /// `sip:user@domain`, as `SIPURI.addressOfRecord` gives it.
    public var addressOfRecord: String
    /// The contact URI as registered, verbatim.
    public var contactURI: String
    /// The whole Contact header value (feature tags, `+sip.instance`, `reg-id`), verbatim.
    public var contactHeader: String
    public var callID: String
    public var cseq: UInt32
    /// Seconds since 1970.
    public var expiresAt: Int64
    public var qValue: Double?
    /// Path header values, in order (RFC 3327).
    public var path: [String]
    /// Where the REGISTER came from (`transport:host:port`), to reach the contact behind NAT.
    public var receivedFrom: String?

    public init(
        addressOfRecord: String, contactURI: String, contactHeader: String, callID: String, cseq: UInt32,
        expiresAt: Int64, qValue: Double? = nil, path: [String] = [], receivedFrom: String? = nil
    ) {
        self.addressOfRecord = addressOfRecord
        self.contactURI = contactURI
        self.contactHeader = contactHeader
        self.callID = callID
        self.cseq = cseq
        self.expiresAt = expiresAt
        self.qValue = qValue
        self.path = path
        self.receivedFrom = receivedFrom
    }
}

public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyExists(String)
    case notFound(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .alreadyExists(let what): return "\(what) already exists"
        case .notFound(let what): return "\(what) not found"
        case .unavailable(let why): return "store unavailable: \(why)"
        }
    }
}

/// A user's call-forwarding settings (seed 004's four divert options). Each target is a SIP
/// URI; nil means the condition does not divert.
public struct ForwardingRules: Sendable, Equatable, Codable {
    /// Every call goes to this target; the user's contacts are not tried.
    public var unconditional: String?
    /// When every contact answered busy (486/600).
    public var busy: String?
    /// When no contact answered within `noAnswerSeconds`.
    public var noAnswer: String?
    public var noAnswerSeconds: Int
    /// When the user has no reachable contact (none registered, or none responded).
    public var unreachable: String?

    public static let defaultNoAnswerSeconds = 20

    public init(unconditional: String? = nil, busy: String? = nil, noAnswer: String? = nil, noAnswerSeconds: Int = Self.defaultNoAnswerSeconds, unreachable: String? = nil) {
        self.unconditional = unconditional
        self.busy = busy
        self.noAnswer = noAnswer
        self.noAnswerSeconds = noAnswerSeconds
        self.unreachable = unreachable
    }

    public var isEmpty: Bool { self.unconditional == nil && self.busy == nil && self.noAnswer == nil && self.unreachable == nil }
}
