import Foundation

/// One child of a rule's `conditions` element. A rule applies when every one of its
/// conditions holds (RFC 4745 §7: conditions are ANDed); a rule without conditions applies to
/// every watcher.
public enum RuleCondition: Sendable, Hashable {
    /// `identity` (RFC 4745 §7.1): matches authenticated watchers only.
    case identity(IdentityCondition)
    /// `sphere value="…"` (RFC 4745 §7.2): the presentity's current sphere is one of the tokens.
    case sphere(Set<String>)
    /// `validity` (RFC 4745 §7.3): now lies in one of the intervals.
    case validity([ValidityInterval])
    /// OMA `external-list`: the watcher is a member of one of the referenced URI lists; each
    /// string is an `entry`'s `anc` (an XCAP URI of a resource-lists `list`).
    case externalList([String])
    /// OMA `anonymous-request`: the watcher did not identify itself.
    case anonymousRequest
    /// OMA `other-identity`: no other rule's identity, external-list or anonymous-request
    /// condition applies to the watcher (see `PresenceAuthorization`).
    case otherIdentity
    /// A condition this server does not understand. RFC 4745 §10: such a condition is
    /// false, so the rule never applies (a permission is never granted by accident).
    case unknown(XMLName)

    /// Whether this condition says who the watcher is (the kinds OMA's `other-identity` is
    /// the complement of).
    var identifiesWatcher: Bool {
        switch self {
        case .identity, .externalList, .anonymousRequest: true
        case .sphere, .validity, .otherIdentity, .unknown: false
        }
    }
}

/// `identity` (RFC 4745 §7.1): holds when any of its `one` or `many` children matches.
public struct IdentityCondition: Sendable, Hashable {
    /// `one id="…"` (§7.1.2): a single identity, compared as a URI.
    public var ones: [String]
    public var manys: [ManyIdentities]

    public init(ones: [String] = [], manys: [ManyIdentities] = []) {
        self.ones = ones
        self.manys = manys
    }
}

/// `many` (RFC 4745 §7.1.3): every authenticated identity in `domain` (or in any domain when
/// `domain` is nil), except the listed domains and identities.
public struct ManyIdentities: Sendable, Hashable {
    public var domain: String?
    public var exceptDomains: [String]
    public var exceptIDs: [String]

    public init(domain: String? = nil, exceptDomains: [String] = [], exceptIDs: [String] = []) {
        self.domain = domain
        self.exceptDomains = exceptDomains
        self.exceptIDs = exceptIDs
    }
}

/// A `from`/`until` pair of a `validity` condition (RFC 4745 §7.3), both ends included.
public struct ValidityInterval: Sendable, Hashable {
    public var from: Date
    public var until: Date

    public init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }

    public func contains(_ instant: Date) -> Bool { self.from <= instant && instant <= self.until }
}
