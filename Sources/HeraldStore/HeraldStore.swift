/// Users of the served domains.
public protocol UserStore: Sendable {
    /// Adds a user; `StoreError.alreadyExists` when the user is there already.
    func addUser(_ user: UserRecord) async throws
    /// Adds or replaces a user (a password change).
    func saveUser(_ user: UserRecord) async throws
    /// Removes a user; false when there was none.
    func removeUser(username: String, domain: String) async throws -> Bool
    func user(username: String, domain: String) async throws -> UserRecord?
    func allUsers() async throws -> [UserRecord]
    /// The user's call-forwarding rules; nil when none are set.
    func forwardingRules(username: String, domain: String) async throws -> ForwardingRules?
    /// Sets (or, with nil or empty rules, clears) the user's call-forwarding rules.
    func setForwardingRules(_ rules: ForwardingRules?, username: String, domain: String) async throws
}

/// Registrar bindings (RFC 3261 §10.3). A change to one address-of-record is applied as one
/// atomic replacement, so a REGISTER is never half-applied.
public protocol BindingStore: Sendable {
    func bindings(addressOfRecord: String) async throws -> [BindingRecord]
    /// Replaces every binding of `addressOfRecord` with `bindings` in one transaction.
    func replaceBindings(addressOfRecord: String, with bindings: [BindingRecord]) async throws
    /// Removes bindings that expired at or before `now` and returns them.
    func removeExpiredBindings(now: Int64) async throws -> [BindingRecord]
    func allBindings() async throws -> [BindingRecord]
}

/// Everything Herald keeps. Protocol code talks to this, never to a database driver, so the
/// embedded SQLite store and a PostgreSQL store are interchangeable.
public protocol HeraldStore: UserStore, BindingStore, PublicationStore, SubscriptionStore, XCAPDocumentStore {
    /// Throws unless the store answers a trivial read: what `GET /healthz` asks of it.
    func checkHealth() async throws
    func close() async throws
}
