import Foundation
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPProtocol

extension SIPEngine {
    /// PUBLISH (RFC 3903 §6): classify, validate the body, apply the change and notify
    /// watchers, and answer 200 with SIP-ETag and Expires once the change is durable.
    func publish(_ entry: ServerTransactionEntry, resource uri: SIPURI) {
        let request = entry.request
        guard let (package, _) = self.eventPackage(of: request, entry: entry) else { return }
        guard !package.publishContentTypes.isEmpty else {
            self.respond(entry, status: 489, headers: [(SIPHeaderName(.allowEvents), "presence, message-summary")])
            return
        }
        if self.configuration.authMode == .digest, entry.essentials.from.uri.addressOfRecord != uri.addressOfRecord, !self.isTrusted(entry) {
            // RFC 3903 §6 step 2: only the presentity herself publishes her state, or a host the
            // operator trusts on her behalf: a voicemail system PUBLISHing a mailbox's message
            // summary (RFC 3842), which it can also post to the HTTP API.
            self.respond(entry, status: 403, reason: "Forbidden: \(entry.essentials.from.uri.addressOfRecord) may not publish for \(uri.addressOfRecord)")
            return
        }
        let hasBody = !request.body.isEmpty
        // Parsed once here and kept in the index of live publications.
        var parsedDocument: PIDFDocument?
        var contentType = package.publishContentTypes[0]
        if hasBody {
            guard let type = entry.essentials.contentType, package.publishContentTypes.contains(type.essence) else {
                self.respond(entry, status: 415, headers: [(SIPHeaderName(.accept), package.publishContentTypes.joined(separator: ", "))])
                return
            }
            contentType = type.essence
            switch Self.parseBody(Array(request.body), package: package) {
            case .failure(let problem):
                self.respond(entry, status: 400, reason: "Bad Request: \(problem.reason)")
                return
            case .success(let document):
                parsedDocument = document
            }
        }
        let kind: PublicationRequest
        let granted: UInt32
        do {
            (kind, granted) = try PublicationRules.classify(
                ifMatch: request.headers[SIPHeaderName(.sipIfMatch)], expires: request.expires, hasBody: hasBody, policy: package.publicationExpiry)
        } catch {
            switch error {
            case .intervalTooBrief(let minimum):
                self.respond(entry, status: 423, headers: [(SIPHeaderName(.minExpires), String(minimum))])
            case .badRequest(let reason):
                self.respond(entry, status: 400, reason: reason)
            }
            return
        }
        let resource = uri.addressOfRecord
        let now = self.wallClock()
        let body = package.kind == .messageSummary ? Self.standardizedSummary(Array(request.body)) : Array(request.body)
        let sequence = self.nextPublicationSequence()
        let newTag = Self.makeTag() + Self.makeTag()
        let event = package.name
        let bodyType = contentType
        // The entity-tag is looked up in the engine's index of live publications (the store's
        // mirror), and claimed so that a second PUBLISH with the same tag in flight gets 412.
        var known: PublicationRecord?
        switch kind {
        case .refresh(let tag), .modify(let tag), .remove(let tag):
            guard !self.claimedEntityTags.contains(tag),
                let indexed = self.publicationIndex[Self.resourceKey(event, resource)]?[tag], indexed.record.expiresAt > now
            else {
                self.respond(entry, status: 412)  // RFC 3903 §6 step 4: unknown or expired entity-tag
                return
            }
            known = indexed.record
            if !hasBody { parsedDocument = indexed.document }
            self.claimedEntityTags.insert(tag)
        case .initial:
            break
        }
        let claimed = known
        let document = parsedDocument
        let outcome: PublishOutcome
        let change: PublicationChange
        switch kind {
        case .initial:
            let record = PublicationRecord(
                entityTag: newTag, resource: resource, event: event, contentType: bodyType, body: body,
                expiresAt: now + Int64(granted), sequence: sequence)
            outcome = .stored(record, replaced: nil, stateChanged: true)
            change = .save(record, replacing: nil)
        case .refresh(let tag), .modify(let tag), .remove(let tag):
            guard var record = claimed else {
                self.respond(entry, status: 412)
                return
            }
            if case .remove = kind {
                outcome = .removed(entityTag: tag)
                change = .remove(entityTag: tag)
                break
            }
            record.entityTag = newTag
            record.expiresAt = now + Int64(granted)
            var changed = false
            if case .modify = kind {
                record.body = body
                record.contentType = bodyType
                record.sequence = sequence
                changed = true
            }
            outcome = .stored(record, replaced: tag, stateChanged: changed)
            change = .save(record, replacing: tag)
        }
        // Watchers learn the new state at once, while the change is being made durable: RFC 3903
        // §6 ties only the publisher's 200 to the change, and that 200 waits for the store,
        // because it promises that the state survives a restart. A change the store refuses is
        // undone and the watchers are told again (RFC 6665 §4.2.2: a NOTIFY for each change).
        // Not for a presentity whose rules name her sphere: a sphere change re-authorizes
        // watchers and may end subscriptions for good (RFC 4745 §7.2), which no undo can take
        // back, so her change is applied only once it is durable, as before.
        let key = Self.resourceKey(event, resource)
        let previous = claimed.flatMap { self.publicationIndex[key]?[$0.entityTag] }
        let appliedEarly = !(event == EventPackage.presence.name && self.presencePolicy.sphereOwners.contains(resource))
        if appliedEarly { self.applyPublishOutcome(outcome, document: document, event: event, resource: resource) }
        self.storePublicationChange(change) { stored in
            if let claimed { self.claimedEntityTags.remove(claimed.entityTag) }
            switch (stored, outcome) {
            case (.success, _):
                if !appliedEarly { self.applyPublishOutcome(outcome, document: document, event: event, resource: resource) }
                if case .stored(let record, let replaced, _) = outcome {
                    self.schedulePublicationExpiry(record)
                    if replaced == nil { self.evictOldestPublications(event: event, resource: resource) }
                    self.respond(entry, status: 200, headers: [
                        (SIPHeaderName(.sipETag), record.entityTag), (SIPHeaderName(.expires), String(granted)),
                    ])
                    self.statistics.publications += 1
                    self.metrics.publications.increment()
                } else {
                    self.respond(entry, status: 200, headers: [(SIPHeaderName(.expires), "0")])
                }
            case (.failure(let error), _):
                if appliedEarly { self.undoPublishOutcome(outcome, previous: previous, event: event, resource: resource) }
                self.respondStoreUnavailable(entry, error: error)
            }
        }
    }

    /// A PUBLISH's change made to the live publications, and the watchers told when it changed
    /// the state.
    private func applyPublishOutcome(_ outcome: PublishOutcome, document: PIDFDocument?, event: String, resource: String) {
        switch outcome {
        case .stored(let record, let replaced, let changed):
            if let replaced { self.unindexPublication(event: event, resource: resource, entityTag: replaced) }
            self.indexPublication(record, document: document)
            if changed { self.resourceStateChanged(event: event, resource: resource) }
        case .removed(let tag):
            self.unindexPublication(event: event, resource: resource, entityTag: tag)
            self.resourceStateChanged(event: event, resource: resource)
        }
    }

    /// Takes back a change the store refused. The publication it replaced returns only if it is
    /// still live and nothing took its place meanwhile (its expiry timer may have run, the HTTP
    /// API may have stored a newer one under the same tag); its expiry is armed again.
    private func undoPublishOutcome(_ outcome: PublishOutcome, previous: IndexedPublication?, event: String, resource: String) {
        var stateChanged = true
        if case .stored(let record, _, let changed) = outcome {
            self.unindexPublication(event: event, resource: resource, entityTag: record.entityTag)
            stateChanged = changed
        }
        if let previous {
            let key = Self.resourceKey(event, resource)
            if previous.record.expiresAt > self.wallClock(), self.publicationIndex[key]?[previous.record.entityTag] == nil {
                self.indexPublication(previous.record, document: previous.document)
                self.schedulePublicationExpiry(previous.record)
            } else {
                stateChanged = true
            }
        }
        if stateChanged { self.resourceStateChanged(event: event, resource: resource) }
    }

    /// Queues a publication change for the store; the changes of one event-loop tick (a read
    /// burst of PUBLISHes) go to the store in one call, and each completes when durable.
    func storePublicationChange(_ change: PublicationChange, then completion: @escaping (Result<Void, any Error>) -> Void) {
        self.unsavedPublications.append((change, completion))
        guard !self.publicationFlushScheduled else { return }
        self.publicationFlushScheduled = true
        self.loop.execute { self.flushPublications() }
    }

    private func flushPublications() {
        self.publicationFlushScheduled = false
        let batch = self.unsavedPublications
        self.unsavedPublications.removeAll()
        let changes = batch.map(\.0)
        let store = self.store
        // The completions run on the engine loop (the store completes on a loop of its own).
        let completions = NIOLoopBound(batch.map(\.1), eventLoop: self.loop)
        store.applyPublicationChanges(changes) { results in
            self.onLoop {
                for (index, completion) in completions.value.enumerated() {
                    completion(index < results.count ? results[index] : .failure(StoreError.unavailable("no result for a publication change")))
                }
            }
        }
    }

    /// What a PUBLISH does to the live publications once its change is durable.
    enum PublishOutcome {
        case stored(PublicationRecord, replaced: String?, stateChanged: Bool)
        case removed(entityTag: String)
    }

    /// The published body checked (bounded XML without DTDs, RFC 3863 / RFC 3842 shape): the
    /// parsed PIDF for presence, nil for a message summary, or why it is unacceptable.
    static func parseBody(_ body: [UInt8], package: EventPackage) -> Result<PIDFDocument?, BodyProblem> {
        switch package.kind {
        case .presence:
            do {
                return .success(try PIDFDocument(parsing: body))
            } catch {
                return .failure(BodyProblem(reason: error.reason))
            }
        case .messageSummary:
            do {
                _ = try MessageSummary(parsing: String(decoding: body, as: UTF8.self))
                return .success(nil)
            } catch {
                return .failure(BodyProblem(reason: error.reason))
            }
        case .watcherInfo, .registration, .resourceList:
            return .failure(BodyProblem(reason: "\(package.name) state is not published"))
        }
    }

    struct BodyProblem: Error {
        var reason: String
    }

    func indexPublication(_ record: PublicationRecord, document parsed: PIDFDocument? = nil) {
        let document = record.event == EventPackage.presence.name ? parsed ?? (try? PIDFDocument(parsing: record.body)) : nil
        self.publicationIndex[Self.resourceKey(record.event, record.resource), default: [:]][record.entityTag] =
            IndexedPublication(record: record, document: document)
    }

    func unindexPublication(event: String, resource: String, entityTag: String) {
        let key = Self.resourceKey(event, resource)
        self.publicationIndex[key]?[entityTag] = nil
        if self.publicationIndex[key]?.isEmpty == true { self.publicationIndex[key] = nil }
    }

    /// Live publications of a resource, oldest first.
    func livePublications(event: String, resource: String) -> [IndexedPublication] {
        let now = self.wallClock()
        return (self.publicationIndex[Self.resourceKey(event, resource)] ?? [:]).values
            .filter { $0.record.expiresAt > now }
            .sorted { $0.record.sequence < $1.record.sequence }
    }

    func nextPublicationSequence() -> Int64 {
        self.publicationSequence = max(self.publicationSequence + 1, self.wallClock() * 1_000)
        return self.publicationSequence
    }

    /// RFC 3903 §6 step 8: an unrefreshed publication expires and its state leaves the composition.
    /// A presentity keeps at most `maxPublicationsPerResource` live publications of an event: a
    /// client that publishes anew after each restart (no SIP-If-Match, RFC 3903 §4.2) would
    /// otherwise pile up stale documents until they expire, each one in every NOTIFY. Those
    /// nearest to expiring, the least recently refreshed, leave first (a device that keeps
    /// refreshing is kept), their watchers told (RFC 3903 §6: they are no longer composed).
    func evictOldestPublications(event: String, resource: String) {
        let live = self.livePublications(event: event, resource: resource)
            .sorted { ($0.record.expiresAt, $0.record.sequence) < ($1.record.expiresAt, $1.record.sequence) }
        guard live.count > Self.maxPublicationsPerResource else { return }
        for stale in live.prefix(live.count - Self.maxPublicationsPerResource) {
            let tag = stale.record.entityTag
            guard !self.claimedEntityTags.contains(tag) else { continue }
            self.unindexPublication(event: event, resource: resource, entityTag: tag)
            self.storePublicationChange(.remove(entityTag: tag)) { result in
                if case .failure(let error) = result {
                    // It expires from the store in its time (or at the startup sweep).
                    self.logger.error("cannot remove an evicted publication", metadata: ["error": "\(error)"])
                }
            }
        }
        self.resourceStateChanged(event: event, resource: resource)
    }

    static let maxPublicationsPerResource = 16

    func schedulePublicationExpiry(_ record: PublicationRecord) {
        let delay = max(0, record.expiresAt - self.wallClock())
        self.schedule(at: self.instant + .seconds(delay)) { [weak self] in self?.expirePublication(record) }
    }

    /// A refreshed or removed publication's timer finds nothing expired in the store and does
    /// nothing. When the store cannot answer, the watchers still learn now that the state is
    /// gone (an expired publication is no longer composed, RFC 3903 §6), and the store's copy
    /// is removed at a later try (or by the startup sweep).
    private func expirePublication(_ record: PublicationRecord) {
        let store = self.store
        let now = self.wallClock()
        let tag = record.entityTag
        self.loop.makeFutureWithTask { () async throws -> PublicationRecord? in
            guard let current = try await store.publication(entityTag: tag), current.expiresAt <= now else { return nil }
            return try await store.removePublication(entityTag: tag)
        }.whenComplete { result in
            switch result {
            case .success(let removed?):
                // (Already out of the index when an earlier try failed: the watchers know.)
                let indexed = self.publicationIndex[Self.resourceKey(removed.event, removed.resource)]?[removed.entityTag] != nil
                self.unindexPublication(event: removed.event, resource: removed.resource, entityTag: removed.entityTag)
                if indexed { self.resourceStateChanged(event: removed.event, resource: removed.resource) }
            case .success(nil):
                break
            case .failure(let error):
                self.logger.error("cannot remove an expired publication", metadata: ["error": "\(error)"])
                let key = Self.resourceKey(record.event, record.resource)
                if let indexed = self.publicationIndex[key]?[tag], indexed.record.expiresAt <= now {
                    self.unindexPublication(event: record.event, resource: record.resource, entityTag: tag)
                    self.resourceStateChanged(event: record.event, resource: record.resource)
                }
                self.schedule(at: self.instant + .seconds(Self.storeRetryDelay)) { [weak self] in self?.expirePublication(record) }
            }
        }
    }

    static let storeRetryDelay: Int64 = 30

    /// A message summary (already checked) in RFC 3842's names.
    static func standardizedSummary(_ body: [UInt8]) -> [UInt8] {
        Array(MessageSummary.standardized(String(decoding: body, as: UTF8.self)).utf8)
    }

    /// `POST /api/mwi/{aor}`: a voicemail system's message summary for a mailbox, stored as a
    /// long-lived publication that replaces the previous one (RFC 3842 state via the HTTP API).
    public func publishMessageSummary(mailbox: String, body: [UInt8]) -> EventLoopFuture<Int> {
        self.loop.flatSubmit {
            let text = mailbox.hasPrefix("sip:") || mailbox.hasPrefix("sips:") ? mailbox : "sip:" + mailbox
            guard let uri = try? SIPURI(parsing: text), uri.user != nil, self.identity.domains.contains(uri.hostKey) else {
                return self.loop.makeSucceededFuture(404)
            }
            if case .failure = Self.parseBody(body, package: .messageSummary) { return self.loop.makeSucceededFuture(400) }
            let resource = uri.addressOfRecord
            let record = PublicationRecord(
                entityTag: "api-" + Self.watcherID(resource), resource: resource, event: EventPackage.messageSummary.name,
                contentType: EventPackage.messageSummary.notifyContentType, body: Self.standardizedSummary(body),
                expiresAt: self.wallClock() + Int64(EventPackage.messageSummary.publicationExpiry.maxExpires),
                sequence: self.nextPublicationSequence())
            let store = self.store
            return self.loop.makeFutureWithTask { try await store.savePublication(record, replacing: record.entityTag) }.map {
                self.indexPublication(record)
                self.schedulePublicationExpiry(record)
                self.resourceStateChanged(event: record.event, resource: resource)
                return 200
            }
        }
    }
}
