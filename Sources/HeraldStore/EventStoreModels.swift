/// Published event state (RFC 3903): one entity-tag's body for a resource and event package.
public struct PublicationRecord: Sendable, Equatable {
    public var entityTag: String
    /// The resource's address-of-record key (`SIPURI.addressOfRecord`).
    public var resource: String
    public var event: String
    public var contentType: String
    public var body: [UInt8]
    /// Seconds since 1970.
    public var expiresAt: Int64
    /// Orders publications of one resource: higher is more recent (composition, RFC 3903 §4.4).
    public var sequence: Int64

    public init(entityTag: String, resource: String, event: String, contentType: String, body: [UInt8], expiresAt: Int64, sequence: Int64) {
        self.entityTag = entityTag
        self.resource = resource
        self.event = event
        self.contentType = contentType
        self.body = body
        self.expiresAt = expiresAt
        self.sequence = sequence
    }
}

/// A subscription's dialog and state (RFC 6665), enough to continue it after a restart.
public struct SubscriptionRecord: Sendable, Equatable {
    public var id: String
    public var event: String
    public var eventID: String?
    public var resource: String
    /// The resource URI as subscribed to (From of NOTIFYs).
    public var resourceURI: String
    public var watcher: String
    /// The watcher's From header value as sent (To of NOTIFYs).
    public var watcherAddress: String
    public var watcherDisplayName: String?
    public var callID: String
    public var localTag: String
    public var remoteTag: String
    public var remoteTarget: String
    public var routeSet: [String]
    /// NOTIFY CSeq numbers up to this one may have been used: a restarted server continues above it.
    public var localCSeqReserved: UInt32
    public var remoteCSeq: UInt32
    /// Seconds since 1970.
    public var expiresAt: Int64
    public var status: String
    public var authorization: String
    /// Where NOTIFYs go: `transport:ip:port` of the flow the SUBSCRIBE came on.
    public var destination: String
    public var createdAt: Int64
    /// The NOTIFY body type when it is not the package's usual one (a watcher that reads only
    /// `application/cpim-pidf+xml`); nil otherwise.
    public var notifyContentType: String?

    public init(
        id: String, event: String, eventID: String?, resource: String, resourceURI: String, watcher: String, watcherAddress: String,
        watcherDisplayName: String?, callID: String, localTag: String, remoteTag: String, remoteTarget: String, routeSet: [String],
        localCSeqReserved: UInt32, remoteCSeq: UInt32, expiresAt: Int64, status: String, authorization: String, destination: String,
        createdAt: Int64, notifyContentType: String? = nil
    ) {
        self.notifyContentType = notifyContentType
        self.id = id
        self.event = event
        self.eventID = eventID
        self.resource = resource
        self.resourceURI = resourceURI
        self.watcher = watcher
        self.watcherAddress = watcherAddress
        self.watcherDisplayName = watcherDisplayName
        self.callID = callID
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
        self.localCSeqReserved = localCSeqReserved
        self.remoteCSeq = remoteCSeq
        self.expiresAt = expiresAt
        self.status = status
        self.authorization = authorization
        self.destination = destination
        self.createdAt = createdAt
    }
}

/// Event state publications (RFC 3903).
public protocol PublicationStore: Sendable {
    func publications(resource: String, event: String) async throws -> [PublicationRecord]
    func publication(entityTag: String) async throws -> PublicationRecord?
    /// Stores `record`, replacing the publication whose tag was `replacing` (a refresh or
    /// modify issues a new entity-tag, RFC 3903 §6 step 8), in one transaction.
    func savePublication(_ record: PublicationRecord, replacing: String?) async throws
    func removePublication(entityTag: String) async throws -> PublicationRecord?
    func removeExpiredPublications(now: Int64) async throws -> [PublicationRecord]
    func allPublications() async throws -> [PublicationRecord]
    /// Applies the changes of one moment together, each atomic and durable on its own: the
    /// result for each says whether it was stored (a failing one does not undo the others).
    func applyPublicationChanges(_ changes: [PublicationChange]) async -> [Result<Void, any Error>]
    /// The same for a caller on an event loop: `completion` gets the results on a thread of
    /// the store's choosing. A store that can take the changes without a Swift-concurrency
    /// task (SQLite) implements it to spare the hand-offs; the default wraps the async form.
    func applyPublicationChanges(_ changes: [PublicationChange], completion: @escaping @Sendable ([Result<Void, any Error>]) -> Void)
}

/// One PUBLISH's effect on the store.
public enum PublicationChange: Sendable {
    /// Store `record`, replacing the publication whose tag was `replacing`.
    case save(PublicationRecord, replacing: String?)
    case remove(entityTag: String)
}

extension PublicationStore {
    public func applyPublicationChanges(
        _ changes: [PublicationChange], completion: @escaping @Sendable ([Result<Void, any Error>]) -> Void
    ) {
        Task { completion(await self.applyPublicationChanges(changes)) }
    }

    public func applyPublicationChanges(_ changes: [PublicationChange]) async -> [Result<Void, any Error>] {
        await self.applyPublicationChangesOneByOne(changes)
    }

    /// Each change with `savePublication` or `removePublication`, its own result each.
    public func applyPublicationChangesOneByOne(_ changes: [PublicationChange]) async -> [Result<Void, any Error>] {
        var results: [Result<Void, any Error>] = []
        for change in changes {
            do {
                switch change {
                case .save(let record, let replacing): try await self.savePublication(record, replacing: replacing)
                case .remove(let tag): _ = try await self.removePublication(entityTag: tag)
                }
                results.append(.success(()))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }
}

/// Subscriptions (RFC 6665), kept so they continue after a restart.
public protocol SubscriptionStore: Sendable {
    func saveSubscription(_ record: SubscriptionRecord) async throws
    func removeSubscription(id: String) async throws
    /// Saves and removes many subscriptions in one atomic, durable write (the engine batches
    /// the changes of one moment); an id appears at most once across both lists.
    func applySubscriptionChanges(saving: [SubscriptionRecord], removing: [String]) async throws
    /// The same for a caller on an event loop (see `PublicationStore`).
    func applySubscriptionChanges(
        saving: [SubscriptionRecord], removing: [String], completion: @escaping @Sendable (Result<Void, any Error>) -> Void)
    func allSubscriptions() async throws -> [SubscriptionRecord]
}

extension SubscriptionStore {
    public func applySubscriptionChanges(
        saving: [SubscriptionRecord], removing: [String], completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        Task {
            do {
                try await self.applySubscriptionChanges(saving: saving, removing: removing)
                completion(.success(()))
            } catch {
                completion(.failure(error))
            }
        }
    }

    public func applySubscriptionChanges(saving: [SubscriptionRecord], removing: [String]) async throws {
        for record in saving { try await self.saveSubscription(record) }
        for id in removing { try await self.removeSubscription(id: id) }
    }
}
