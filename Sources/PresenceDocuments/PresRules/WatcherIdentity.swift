/// Who is asking for presence, as authorization sees it (RFC 5025 §3.1.1): the watcher's
/// URI (the canonical address of record, e.g. `sip:alice@example.com`, or a `tel:` URI) and
/// whether the server authenticated it. Identity and external-list conditions only ever match
/// authenticated watchers (RFC 4745 §7.1).
public struct WatcherIdentity: Sendable, Hashable {
    public var uri: String?
    public var authenticated: Bool

    public init(uri: String?, authenticated: Bool) {
        self.uri = uri
        self.authenticated = authenticated
    }

    /// A watcher that did not identify itself.
    public static let anonymous = WatcherIdentity(uri: nil, authenticated: false)

    /// The URI to match identity conditions with: only an authenticated one counts.
    var authenticatedURI: String? {
        guard self.authenticated, let uri = self.uri, !self.isAnonymous else { return nil }
        return uri
    }

    /// What OMA's `anonymous-request` matches: a watcher without an established identity —
    /// no URI, an unauthenticated one, or the anonymous URI of RFC 3323
    /// (`sip:anonymous@anonymous.invalid`; any user at `anonymous.invalid`).
    public var isAnonymous: Bool {
        guard self.authenticated, let uri = self.uri else { return true }
        return PolicyURI(uri)?.domain == "anonymous.invalid"
    }
}
