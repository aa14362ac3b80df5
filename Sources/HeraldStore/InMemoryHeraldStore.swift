/// A store that keeps everything in memory: for tests of the layers above, and for
/// `--data-dir :memory:` development runs. Nothing survives the process.
public actor InMemoryHeraldStore: HeraldStore {
    private var users: [String: UserRecord] = [:]
    private var bindingsByAOR: [String: [BindingRecord]] = [:]
    private var forwarding: [String: ForwardingRules] = [:]
    private var xcap: [String: XCAPDocumentRecord] = [:]

    /// While set, every publication write fails with `StoreError.unavailable`: how tests show
    /// what a PUBLISH does when the store refuses its change (a full disk, a lost database).
    private var refusesPublicationWrites = false

    public init() {}

    /// Always answers while the process runs; a test can make it fail.
    private var failsHealthCheck = false

    public func setFailsHealthCheck(_ fails: Bool) {
        self.failsHealthCheck = fails
    }

    /// How long the health check takes to answer: a store that is stuck, for tests.
    private var healthCheckDelay: Duration = .zero

    public func setHealthCheckDelay(_ delay: Duration) {
        self.healthCheckDelay = delay
    }

    public func checkHealth() async throws {
        if self.healthCheckDelay > .zero { try await Task.sleep(for: self.healthCheckDelay) }
        if self.failsHealthCheck { throw StoreError.unavailable("health check failed") }
    }

    public func setRefusesPublicationWrites(_ refuses: Bool) {
        self.refusesPublicationWrites = refuses
    }

    /// While held, batches of publication changes (a PUBLISH's write) wait, as behind a slow
    /// disk, until `releasePublicationWrites()`: how tests show what happens meanwhile (an
    /// expiry, another change). Single saves and removals (an expiry's) are not held.
    private var publicationWritesHeld = false
    private var heldPublicationWrites: [CheckedContinuation<Void, Never>] = []

    public func holdPublicationWrites() {
        self.publicationWritesHeld = true
    }

    public func releasePublicationWrites() {
        self.publicationWritesHeld = false
        let waiting = self.heldPublicationWrites
        self.heldPublicationWrites.removeAll()
        for write in waiting { write.resume() }
    }

    public var heldPublicationWriteCount: Int { self.heldPublicationWrites.count }

    public func applyPublicationChanges(_ changes: [PublicationChange]) async -> [Result<Void, any Error>] {
        if self.publicationWritesHeld {
            await withCheckedContinuation { self.heldPublicationWrites.append($0) }
        }
        return await self.applyPublicationChangesOneByOne(changes)
    }

    private static func key(_ username: String, _ domain: String) -> String { username + "@" + domain.lowercased() }

    public func addUser(_ user: UserRecord) throws {
        let key = Self.key(user.username, user.domain)
        guard self.users[key] == nil else { throw StoreError.alreadyExists("user \(key)") }
        self.users[key] = user
    }

    public func saveUser(_ user: UserRecord) {
        self.users[Self.key(user.username, user.domain)] = user
    }

    public func removeUser(username: String, domain: String) -> Bool {
        self.forwarding[Self.key(username, domain)] = nil
        return self.users.removeValue(forKey: Self.key(username, domain)) != nil
    }

    public func user(username: String, domain: String) -> UserRecord? {
        self.users[Self.key(username, domain)]
    }

    public func forwardingRules(username: String, domain: String) -> ForwardingRules? {
        self.forwarding[Self.key(username, domain)]
    }

    public func setForwardingRules(_ rules: ForwardingRules?, username: String, domain: String) {
        self.forwarding[Self.key(username, domain)] = rules?.isEmpty == false ? rules : nil
    }

    public func allUsers() -> [UserRecord] {
        self.users.values.sorted { ($0.domain, $0.username) < ($1.domain, $1.username) }
    }

    public func bindings(addressOfRecord: String) -> [BindingRecord] {
        self.bindingsByAOR[addressOfRecord] ?? []
    }

    public func replaceBindings(addressOfRecord: String, with bindings: [BindingRecord]) {
        self.bindingsByAOR[addressOfRecord] = bindings.isEmpty ? nil : bindings
    }

    public func removeExpiredBindings(now: Int64) -> [BindingRecord] {
        var removed = [BindingRecord]()
        for (aor, bindings) in self.bindingsByAOR {
            let (expired, live) = (bindings.filter { $0.expiresAt <= now }, bindings.filter { $0.expiresAt > now })
            removed += expired
            self.bindingsByAOR[aor] = live.isEmpty ? nil : live
        }
        return removed
    }

    public func allBindings() -> [BindingRecord] {
        self.bindingsByAOR.values.flatMap { $0 }
    }

    // MARK: Publications and subscriptions

    private var publicationsByTag: [String: PublicationRecord] = [:]
    private var subscriptionsByID: [String: SubscriptionRecord] = [:]

    public func publications(resource: String, event: String) -> [PublicationRecord] {
        self.publicationsByTag.values.filter { $0.resource == resource && $0.event == event }.sorted { $0.sequence < $1.sequence }
    }

    public func publication(entityTag: String) -> PublicationRecord? { self.publicationsByTag[entityTag] }

    public func savePublication(_ record: PublicationRecord, replacing: String?) throws {
        if self.refusesPublicationWrites { throw StoreError.unavailable("publication writes refused") }
        if let replacing { self.publicationsByTag[replacing] = nil }
        self.publicationsByTag[record.entityTag] = record
    }

    public func removePublication(entityTag: String) throws -> PublicationRecord? {
        if self.refusesPublicationWrites { throw StoreError.unavailable("publication writes refused") }
        return self.publicationsByTag.removeValue(forKey: entityTag)
    }

    public func removeExpiredPublications(now: Int64) -> [PublicationRecord] {
        let expired = self.publicationsByTag.values.filter { $0.expiresAt <= now }
        for record in expired { self.publicationsByTag[record.entityTag] = nil }
        return expired.sorted { $0.sequence < $1.sequence }
    }

    public func allPublications() -> [PublicationRecord] {
        self.publicationsByTag.values.sorted { $0.sequence < $1.sequence }
    }

    /// While held, subscription writes wait (as behind a slow disk) until
    /// `releaseSubscriptionWrites()`.
    private var subscriptionWritesHeld = false
    private var heldSubscriptionWrites: [CheckedContinuation<Void, Never>] = []

    public func holdSubscriptionWrites() { self.subscriptionWritesHeld = true }

    public func releaseSubscriptionWrites() {
        self.subscriptionWritesHeld = false
        let waiting = self.heldSubscriptionWrites
        self.heldSubscriptionWrites.removeAll()
        for write in waiting { write.resume() }
    }

    public func applySubscriptionChanges(saving: [SubscriptionRecord], removing: [String]) async throws {
        if self.subscriptionWritesHeld {
            await withCheckedContinuation { self.heldSubscriptionWrites.append($0) }
        }
        for record in saving { self.saveSubscription(record) }
        for id in removing { self.removeSubscription(id: id) }
    }

    public func saveSubscription(_ record: SubscriptionRecord) { self.subscriptionsByID[record.id] = record }
    public func removeSubscription(id: String) { self.subscriptionsByID[id] = nil }
    public func allSubscriptions() -> [SubscriptionRecord] {
        self.subscriptionsByID.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func close() {}

    private static func xcapKey(_ auid: String, _ owner: String, _ path: String) -> String { auid + "\u{0}" + owner + "\u{0}" + path }

    public func xcapDocument(auid: String, owner: String, path: String) -> XCAPDocumentRecord? {
        self.xcap[Self.xcapKey(auid, owner, path)]
    }

    public func xcapDocuments(owner: String) -> [XCAPDocumentRecord] {
        self.xcap.values.filter { $0.owner == owner }.sorted { ($0.auid, $0.path) < ($1.auid, $1.path) }
    }

    public func xcapDocuments(auid: String) -> [XCAPDocumentRecord] {
        self.xcap.values.filter { $0.auid == auid }.sorted { ($0.owner, $0.path) < ($1.owner, $1.path) }
    }

    public func replaceXCAPDocument(auid: String, owner: String, path: String, expectedETag: String?, with document: XCAPDocumentRecord?) throws {
        let key = Self.xcapKey(auid, owner, path)
        guard self.xcap[key]?.etag == expectedETag else { throw XCAPWriteConflict.documentChanged }
        self.xcap[key] = document
    }
}
