/// `Subscription-State` values (RFC 6665 §8.2.3, §4.1.3).
public enum SubscriptionStatus: String, Sendable, Equatable { case pending, active, terminated }

/// Termination reasons (RFC 6665 §4.1.3).
public enum TerminationReason: String, Sendable, Equatable {
    case deactivated, probation, rejected, timeout, giveup, noresource, invariant
}

/// A `Subscription-State` header value.
public struct SubscriptionStateHeader: Sendable, Equatable, CustomStringConvertible {
    public var status: SubscriptionStatus
    public var expires: Int?
    public var reason: TerminationReason?
    public var retryAfter: Int?

    public init(status: SubscriptionStatus, expires: Int? = nil, reason: TerminationReason? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.expires = expires
        self.reason = reason
        self.retryAfter = retryAfter
    }

    public var description: String {
        var text = self.status.rawValue
        if let reason = self.reason { text += ";reason=\(reason.rawValue)" }
        if let expires = self.expires { text += ";expires=\(expires)" }
        if let retryAfter = self.retryAfter { text += ";retry-after=\(retryAfter)" }
        return text
    }
}

/// The answer of an authorization policy for a watcher (RFC 3856 §5.1, RFC 5025 sub-handling).
public enum SubscriptionAuthorization: String, Sendable, Equatable {
    /// Serve state.
    case allow
    /// Ask the presentity: the subscription waits in `pending` (confirm).
    case pending
    /// Refuse: terminated;reason=rejected (block).
    case reject
    /// Pretend to serve, with a neutral document (polite-block, RFC 5025 §3.2.1).
    case politeBlock
}
