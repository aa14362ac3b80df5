import Foundation
import HeraldStore
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

/// The embedded default store: one SQLite file in the data directory, in WAL mode with full
/// synchronous commits, so that an acknowledged change survives `kill -9` and power loss.
public actor SQLiteHeraldStore: HeraldStore {
    nonisolated let connection: SQLiteConnection
    nonisolated let gate: SQLiteGate
    nonisolated let committer: SQLiteGroupCommitter
    /// SQLite's own thread: every libsqlite3 call runs there, never on an event loop.
    private nonisolated let threadPool: NIOThreadPool
    public nonisolated let path: String

    /// Opens (creating when needed) `herald.sqlite` in `dataDirectory` and migrates it.
    /// Store futures complete on `eventLoop`: give it the engine's loop and an engine write
    /// is handed over and acknowledged without any other thread than SQLite's own.
    public static func open(dataDirectory: String, logger: Logger, eventLoop: (any EventLoop)? = nil) async throws -> SQLiteHeraldStore {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create data directory \(dataDirectory): \(error.localizedDescription)")
        }
        let path = (dataDirectory as NSString).appendingPathComponent("herald.sqlite")
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: threadPool, logger: logger,
                on: eventLoop ?? MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw StoreError.unavailable("cannot open \(path): \(error)")
        }
        let store = SQLiteHeraldStore(connection: connection, threadPool: threadPool, path: path)
        do {
            try await store.prepare()
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    private init(connection: SQLiteConnection, threadPool: NIOThreadPool, path: String) {
        self.connection = connection
        self.threadPool = threadPool
        self.gate = SQLiteGate()
        self.committer = SQLiteGroupCommitter(connection: connection, gate: self.gate)
        self.path = path
    }

    /// Applies `statements` atomically and durably (in the next group commit).
    func write(_ statements: [(String, [SQLiteData])]) async throws {
        try await self.committer.write(statements)
    }

    private func prepare() async throws {
        _ = try await self.connection.query("PRAGMA journal_mode=WAL")
        _ = try await self.connection.query("PRAGMA synchronous=FULL")
        _ = try await self.connection.query("PRAGMA busy_timeout=5000")
        _ = try await self.connection.query("PRAGMA foreign_keys=ON")
        _ = try await self.connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        let rows = try await self.connection.query("SELECT MAX(version) AS version FROM schema_migrations")
        let current = rows.first?.column("version")?.integer ?? 0
        for (index, statements) in SQLiteMigrations.all.enumerated() where index + 1 > current {
            try await self.transaction {
                for statement in statements { _ = try await self.connection.query(statement) }
                _ = try await self.connection.query("INSERT INTO schema_migrations (version) VALUES (?)", [.integer(index + 1)])
            }
        }
    }

    /// The schema version after migrations, for tests and `herald version`.
    public func schemaVersion() async throws -> Int {
        let rows = try await self.connection.query("SELECT MAX(version) AS version FROM schema_migrations")
        return rows.first?.column("version")?.integer ?? 0
    }

    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await self.gate.acquire()
        defer { self.gate.release() }
        do {
            _ = try await self.connection.query("BEGIN IMMEDIATE")
            let result = try await body()
            _ = try await self.connection.query("COMMIT")
            return result
        } catch {
            _ = try? await self.connection.query("ROLLBACK")
            throw error
        }
    }

    func read<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await self.gate.acquire()
        defer { self.gate.release() }
        return try await body()
    }

    // MARK: Users

    public func addUser(_ user: UserRecord) async throws {
        try await self.transaction {
            let existing = try await self.connection.query(
                "SELECT 1 FROM users WHERE username = ? AND domain = ?", [.text(user.username), .text(user.domain)])
            guard existing.isEmpty else { throw StoreError.alreadyExists("user \(user.addressOfRecord)") }
            try await self.insertUser(user)
        }
    }

    public func saveUser(_ user: UserRecord) async throws {
        try await self.transaction { try await self.insertUser(user) }
    }

    private func insertUser(_ user: UserRecord) async throws {
        _ = try await self.connection.query(
            "INSERT OR REPLACE INTO users (username, domain, ha1_md5, ha1_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(user.username), .text(user.domain), .text(user.ha1MD5), .text(user.ha1SHA256), .integer(Int(Date().timeIntervalSince1970))])
    }

    public func removeUser(username: String, domain: String) async throws -> Bool {
        try await self.transaction {
            let existing = try await self.connection.query(
                "SELECT 1 FROM users WHERE username = ? AND domain = ?", [.text(username), .text(domain.lowercased())])
            _ = try await self.connection.query(
                "DELETE FROM users WHERE username = ? AND domain = ?", [.text(username), .text(domain.lowercased())])
            _ = try await self.connection.query(
                "DELETE FROM forwarding_rules WHERE username = ? AND domain = ?", [.text(username), .text(domain.lowercased())])
            return !existing.isEmpty
        }
    }

    public func user(username: String, domain: String) async throws -> UserRecord? {
        try await self.read {
            try await self.connection.query(
                "SELECT * FROM users WHERE username = ? AND domain = ?", [.text(username), .text(domain.lowercased())]
            ).first.map(Self.decodeUser)
        }
    }

    public func allUsers() async throws -> [UserRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM users ORDER BY domain, username").map(Self.decodeUser)
        }
    }

    public func forwardingRules(username: String, domain: String) async throws -> ForwardingRules? {
        try await self.read {
            try await self.connection.query(
                "SELECT * FROM forwarding_rules WHERE username = ? AND domain = ?", [.text(username), .text(domain.lowercased())]
            ).first.map { row in
                ForwardingRules(
                    unconditional: row.column("unconditional")?.string, busy: row.column("busy")?.string,
                    noAnswer: row.column("no_answer")?.string,
                    noAnswerSeconds: row.column("no_answer_seconds")?.integer ?? ForwardingRules.defaultNoAnswerSeconds,
                    unreachable: row.column("unreachable")?.string)
            }
        }
    }

    public func setForwardingRules(_ rules: ForwardingRules?, username: String, domain: String) async throws {
        let key: [SQLiteData] = [.text(username), .text(domain.lowercased())]
        try await self.transaction {
            guard let rules, !rules.isEmpty else {
                _ = try await self.connection.query("DELETE FROM forwarding_rules WHERE username = ? AND domain = ?", key)
                return
            }
            let text: (String?) -> SQLiteData = { $0.map(SQLiteData.text) ?? .null }
            _ = try await self.connection.query(
                """
                INSERT OR REPLACE INTO forwarding_rules (username, domain, unconditional, busy, no_answer, no_answer_seconds, unreachable)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                key + [text(rules.unconditional), text(rules.busy), text(rules.noAnswer), .integer(rules.noAnswerSeconds), text(rules.unreachable)])
        }
    }

    private static func decodeUser(_ row: SQLiteRow) -> UserRecord {
        UserRecord(
            username: row.column("username")?.string ?? "", domain: row.column("domain")?.string ?? "",
            ha1MD5: row.column("ha1_md5")?.string ?? "", ha1SHA256: row.column("ha1_sha256")?.string ?? "")
    }

    // MARK: Bindings

    public func bindings(addressOfRecord: String) async throws -> [BindingRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM bindings WHERE aor = ? ORDER BY rowid", [.text(addressOfRecord)])
                .map(Self.decodeBinding)
        }
    }

    public func replaceBindings(addressOfRecord: String, with bindings: [BindingRecord]) async throws {
        var statements: [(String, [SQLiteData])] = [("DELETE FROM bindings WHERE aor = ?", [.text(addressOfRecord)])]
        for binding in bindings {
            statements.append((
                """
                INSERT INTO bindings (aor, contact_uri, contact_header, call_id, cseq, expires_at, q_value, path, received_from)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(addressOfRecord), .text(binding.contactURI), .text(binding.contactHeader), .text(binding.callID),
                    .integer(Int(binding.cseq)), .integer(Int(binding.expiresAt)), binding.qValue.map { .float($0) } ?? .null,
                    .text(binding.path.joined(separator: "\n")), binding.receivedFrom.map { .text($0) } ?? .null,
                ]
            ))
        }
        try await self.write(statements)
    }

    public func removeExpiredBindings(now: Int64) async throws -> [BindingRecord] {
        // The sweep runs every few seconds and mostly finds nothing: look before taking
        // SQLite's write lock, which would hold up the group commits meanwhile.
        let due = try await self.read {
            try await self.connection.query("SELECT 1 FROM bindings WHERE expires_at <= ? LIMIT 1", [.integer(Int(now))])
        }
        guard !due.isEmpty else { return [] }
        return try await self.transaction {
            let expired = try await self.connection.query("SELECT * FROM bindings WHERE expires_at <= ?", [.integer(Int(now))])
                .map(Self.decodeBinding)
            _ = try await self.connection.query("DELETE FROM bindings WHERE expires_at <= ?", [.integer(Int(now))])
            return expired
        }
    }

    public func allBindings() async throws -> [BindingRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM bindings ORDER BY aor, rowid").map(Self.decodeBinding)
        }
    }

    private static func decodeBinding(_ row: SQLiteRow) -> BindingRecord {
        let path = row.column("path")?.string ?? ""
        return BindingRecord(
            addressOfRecord: row.column("aor")?.string ?? "", contactURI: row.column("contact_uri")?.string ?? "",
            contactHeader: row.column("contact_header")?.string ?? "", callID: row.column("call_id")?.string ?? "",
            cseq: UInt32(clamping: row.column("cseq")?.integer ?? 0), expiresAt: Int64(row.column("expires_at")?.integer ?? 0),
            qValue: row.column("q_value")?.double, path: path.isEmpty ? [] : path.split(separator: "\n").map(String.init),
            receivedFrom: row.column("received_from")?.string)
    }

    /// One `SELECT 1` through the gate: the connection is open and its thread answers.
    public func checkHealth() async throws {
        _ = try await self.read { try await self.connection.query("SELECT 1") }
    }

    public func close() async throws {
        // Writes already handed over are decided first, then the gate is taken after any read.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.committer.whenIdle { continuation.resume() }
        }
        await self.gate.acquire()
        defer { self.gate.release() }
        do {
            try await self.connection.close()
        } catch {
            try? await self.threadPool.shutdownGracefully()
            throw error
        }
        try await self.threadPool.shutdownGracefully()
    }
}
