import Foundation
import HeraldStore
import NIOCore
import SQLiteNIO

extension SQLiteHeraldStore {
    // MARK: Publications

    public func publications(resource: String, event: String) async throws -> [PublicationRecord] {
        try await self.read {
            try await self.connection.query(
                "SELECT * FROM publications WHERE resource = ? AND event = ? ORDER BY sequence", [.text(resource), .text(event)]
            ).map(Self.decodePublication)
        }
    }

    public func publication(entityTag: String) async throws -> PublicationRecord? {
        try await self.read {
            try await self.connection.query("SELECT * FROM publications WHERE entity_tag = ?", [.text(entityTag)]).first.map(Self.decodePublication)
        }
    }

    public func savePublication(_ record: PublicationRecord, replacing: String?) async throws {
        try await self.write(Self.statements(saving: record, replacing: replacing))
    }

    /// All changes of one moment in one write: one statement (per 200 changes) through the
    /// `publication_changes` view, applied in order. Should it fail, each change is tried on
    /// its own, so that one refused change does not undo the others.
    public func applyPublicationChanges(_ changes: [PublicationChange]) async -> [Result<Void, any Error>] {
        await withCheckedContinuation { continuation in
            self.applyPublicationChanges(changes) { continuation.resume(returning: $0) }
        }
    }

    public nonisolated func applyPublicationChanges(
        _ changes: [PublicationChange], completion: @escaping @Sendable ([Result<Void, any Error>]) -> Void
    ) {
        guard !changes.isEmpty else { return completion([]) }
        let committer = self.committer
        committer.enqueue([
            PendingWrite(statements: Self.statements(applying: changes)) { result in
                switch result {
                case .success:
                    completion(Array(repeating: .success(()), count: changes.count))
                case .failure(let error) where changes.count == 1:
                    completion([.failure(error)])
                case .failure:
                    committer.write(groups: changes.map { Self.statements(applying: [$0]) }, ahead: true, completion: completion)
                }
            }
        ])
    }

    static func statements(saving record: PublicationRecord, replacing: String?) -> [(String, [SQLiteData])] {
        Self.statements(applying: [.save(record, replacing: replacing)])
    }

    /// Rows per statement through the view: 8 values each stays far below SQLite's limit.
    static let changesPerStatement = 200

    static func statements(applying changes: [PublicationChange]) -> [(String, [SQLiteData])] {
        stride(from: 0, to: changes.count, by: Self.changesPerStatement).map { start in
            let chunk = changes[start..<min(changes.count, start + Self.changesPerStatement)]
            let rows = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            return (
                """
                INSERT INTO publication_changes (entity_tag, replacing, resource, event, content_type, body, expires_at, sequence)
                VALUES \(rows)
                """,
                chunk.flatMap { change -> [SQLiteData] in
                    switch change {
                    case .save(let record, let replacing):
                        return [
                            .text(record.entityTag), replacing.map { .text($0) } ?? .null, .text(record.resource), .text(record.event),
                            .text(record.contentType), .blob(ByteBuffer(bytes: record.body)), .integer(Int(record.expiresAt)),
                            .integer(Int(record.sequence)),
                        ]
                    case .remove(let tag):
                        return [.null, .text(tag), .null, .null, .null, .null, .null, .null]
                    }
                }
            )
        }
    }

    public func removePublication(entityTag: String) async throws -> PublicationRecord? {
        try await self.transaction {
            let existing = try await self.connection.query("SELECT * FROM publications WHERE entity_tag = ?", [.text(entityTag)])
                .first.map(Self.decodePublication)
            _ = try await self.connection.query("DELETE FROM publications WHERE entity_tag = ?", [.text(entityTag)])
            return existing
        }
    }

    public func removeExpiredPublications(now: Int64) async throws -> [PublicationRecord] {
        try await self.transaction {
            let expired = try await self.connection.query(
                "SELECT * FROM publications WHERE expires_at <= ? ORDER BY sequence", [.integer(Int(now))]
            ).map(Self.decodePublication)
            _ = try await self.connection.query("DELETE FROM publications WHERE expires_at <= ?", [.integer(Int(now))])
            return expired
        }
    }

    public func allPublications() async throws -> [PublicationRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM publications ORDER BY sequence").map(Self.decodePublication)
        }
    }

    static func decodePublication(_ row: SQLiteRow) -> PublicationRecord {
        var body = [UInt8]()
        if case .blob(var buffer)? = row.column("body") { body = buffer.readBytes(length: buffer.readableBytes) ?? [] }
        return PublicationRecord(
            entityTag: row.column("entity_tag")?.string ?? "", resource: row.column("resource")?.string ?? "",
            event: row.column("event")?.string ?? "", contentType: row.column("content_type")?.string ?? "", body: body,
            expiresAt: Int64(row.column("expires_at")?.integer ?? 0), sequence: Int64(row.column("sequence")?.integer ?? 0))
    }

    // MARK: Subscriptions

    static let subscriptionColumns = """
        id, event, event_id, resource, resource_uri, watcher, watcher_address, watcher_display_name, call_id, local_tag, remote_tag,
        remote_target, route_set, local_cseq_reserved, remote_cseq, expires_at, status, authorization, destination, created_at,
        notify_content_type
        """
    /// Rows per multi-row statement: 21 values each stays far below SQLite's bound-parameter limit.
    static let rowsPerStatement = 200

    public func saveSubscription(_ record: SubscriptionRecord) async throws {
        try await self.applySubscriptionChanges(saving: [record], removing: [])
    }

    public func removeSubscription(id: String) async throws {
        try await self.applySubscriptionChanges(saving: [], removing: [id])
    }

    /// One write for a whole batch: multi-row `INSERT OR REPLACE` and `DELETE … IN`, so a
    /// burst of new subscriptions costs a few statements, not one each.
    public func applySubscriptionChanges(saving: [SubscriptionRecord], removing: [String]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.applySubscriptionChanges(saving: saving, removing: removing) { continuation.resume(with: $0) }
        }
    }

    public nonisolated func applySubscriptionChanges(
        saving: [SubscriptionRecord], removing: [String], completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        var statements: [(String, [SQLiteData])] = []
        for chunk in stride(from: 0, to: saving.count, by: Self.rowsPerStatement) {
            let rows = saving[chunk..<min(saving.count, chunk + Self.rowsPerStatement)]
            let placeholders = Array(repeating: "(" + Array(repeating: "?", count: 21).joined(separator: ", ") + ")", count: rows.count)
            statements.append((
                "INSERT OR REPLACE INTO subscriptions (\(Self.subscriptionColumns)) VALUES " + placeholders.joined(separator: ", "),
                rows.flatMap(Self.subscriptionValues)
            ))
        }
        for chunk in stride(from: 0, to: removing.count, by: Self.rowsPerStatement) {
            let ids = removing[chunk..<min(removing.count, chunk + Self.rowsPerStatement)]
            statements.append((
                "DELETE FROM subscriptions WHERE id IN (" + Array(repeating: "?", count: ids.count).joined(separator: ", ") + ")",
                ids.map { .text($0) }
            ))
        }
        guard !statements.isEmpty else { return completion(.success(())) }
        self.committer.enqueue([PendingWrite(statements: statements, complete: completion)])
    }

    static func subscriptionValues(_ record: SubscriptionRecord) -> [SQLiteData] {
        [
            .text(record.id), .text(record.event), record.eventID.map { .text($0) } ?? .null, .text(record.resource),
            .text(record.resourceURI), .text(record.watcher), .text(record.watcherAddress),
            record.watcherDisplayName.map { .text($0) } ?? .null, .text(record.callID), .text(record.localTag),
            .text(record.remoteTag), .text(record.remoteTarget), .text(record.routeSet.joined(separator: "\n")),
            .integer(Int(record.localCSeqReserved)), .integer(Int(record.remoteCSeq)), .integer(Int(record.expiresAt)),
            .text(record.status), .text(record.authorization), .text(record.destination), .integer(Int(record.createdAt)),
            record.notifyContentType.map { .text($0) } ?? .null,
        ]
    }

    public func allSubscriptions() async throws -> [SubscriptionRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM subscriptions ORDER BY created_at, id").map(Self.decodeSubscription)
        }
    }

    static func decodeSubscription(_ row: SQLiteRow) -> SubscriptionRecord {
        let routes = row.column("route_set")?.string ?? ""
        return SubscriptionRecord(
            id: row.column("id")?.string ?? "", event: row.column("event")?.string ?? "", eventID: row.column("event_id")?.string,
            resource: row.column("resource")?.string ?? "", resourceURI: row.column("resource_uri")?.string ?? "",
            watcher: row.column("watcher")?.string ?? "", watcherAddress: row.column("watcher_address")?.string ?? "",
            watcherDisplayName: row.column("watcher_display_name")?.string, callID: row.column("call_id")?.string ?? "",
            localTag: row.column("local_tag")?.string ?? "", remoteTag: row.column("remote_tag")?.string ?? "",
            remoteTarget: row.column("remote_target")?.string ?? "",
            routeSet: routes.isEmpty ? [] : routes.split(separator: "\n").map(String.init),
            localCSeqReserved: UInt32(clamping: row.column("local_cseq_reserved")?.integer ?? 0),
            remoteCSeq: UInt32(clamping: row.column("remote_cseq")?.integer ?? 0),
            expiresAt: Int64(row.column("expires_at")?.integer ?? 0), status: row.column("status")?.string ?? "",
            authorization: row.column("authorization")?.string ?? "", destination: row.column("destination")?.string ?? "",
            createdAt: Int64(row.column("created_at")?.integer ?? 0), notifyContentType: row.column("notify_content_type")?.string)
    }
}
