import Dispatch
import HeraldStore
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import SQLiteNIO

/// One atomic write: its statements all apply or none do.
struct PendingWrite: Sendable {
    var statements: [(String, [SQLiteData])]
    var complete: @Sendable (Result<Void, any Error>) -> Void
}

/// Group commit: writes that arrive while a commit is running wait and are committed together
/// in the next transaction, so one fsync acknowledges many changes (a PUBLISH burst costs one
/// disk flush, not one each). A failing write does not undo the others: the batch is then run
/// again with one savepoint per write.
///
/// Driven by future callbacks on the connection's event loop rather than by an actor: each
/// statement is one trip to SQLite's thread and back, with no Swift-concurrency task switches
/// in between, and a write handed over from an event loop (`enqueue`) starts at once. On one
/// busy core every thread switch saved is latency saved (BENCHMARKS.md, "store hand-offs").
final class SQLiteGroupCommitter: Sendable {
    /// Time from BEGIN to COMMIT of one group (the fsync included).
    static let commitTimer = Metrics.Timer(label: "herald_store_commit_seconds")
    /// Writes acknowledged by one commit.
    static let batchSize = Recorder(label: "herald_store_commit_batch_size", aggregate: true)

    private struct State {
        var pending: [PendingWrite] = []
        var isCommitting = false
        /// Waiting for the committer to have nothing left (`whenIdle`).
        var idleWaiters: [@Sendable () -> Void] = []
    }

    let connection: SQLiteConnection
    let gate: SQLiteGate
    private let state = NIOLockedValueBox(State())

    init(connection: SQLiteConnection, gate: SQLiteGate) {
        self.connection = connection
        self.gate = gate
    }

    /// Queues `writes` for the next group commit; each completes (on the connection's event
    /// loop) once durable, or with the error that refused it.
    /// `ahead`: before the writes already waiting (the retries of a failed batch, which must
    /// not be overtaken by changes that came after them).
    func enqueue(_ writes: [PendingWrite], ahead: Bool = false) {
        guard !writes.isEmpty else { return }
        let start = self.state.withLockedValue { state -> Bool in
            state.pending.insert(contentsOf: writes, at: ahead ? 0 : state.pending.endIndex)
            guard !state.isCommitting else { return false }
            state.isCommitting = true
            return true
        }
        if start { self.gate.acquire { self.commitPending() } }
    }

    /// Applies `statements` atomically and durably; returns once they are committed.
    func write(_ statements: [(String, [SQLiteData])]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.enqueue([PendingWrite(statements: statements, complete: { continuation.resume(with: $0) })])
        }
    }

    /// Several independent writes handed over in one call; `completion` gets the result of
    /// each, in order, once all are decided.
    func write(
        groups: [[(String, [SQLiteData])]], ahead: Bool = false, completion: @escaping @Sendable ([Result<Void, any Error>]) -> Void
    ) {
        guard !groups.isEmpty else { return completion([]) }
        let collector = ResultCollector(count: groups.count, done: completion)
        self.enqueue(
            groups.enumerated().map { index, statements in
                PendingWrite(statements: statements, complete: { collector.set(index, $0) })
            }, ahead: ahead)
    }

    /// Runs `body` once every write handed over so far is decided (at once when none is
    /// pending): what closing the store waits for.
    func whenIdle(_ body: @escaping @Sendable () -> Void) {
        let runNow = self.state.withLockedValue { state -> Bool in
            guard state.isCommitting else { return true }
            state.idleWaiters.append(body)
            return false
        }
        if runNow { body() }
    }

    /// Runs with the gate held: commits what is pending, then lets others (reads,
    /// transactions) have the connection before the next group.
    private func commitPending() {
        let batch = self.state.withLockedValue { state -> [PendingWrite] in
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
        let started = DispatchTime.now().uptimeNanoseconds
        self.commit(batch).whenComplete { outcome in
            let results: [Result<Void, any Error>]
            switch outcome {
            case .success(let decided) where decided.count == batch.count: results = decided
            case .success: results = Array(repeating: .failure(StoreError.unavailable("commit gave no result")), count: batch.count)
            case .failure(let error): results = Array(repeating: .failure(error), count: batch.count)
            }
            Self.commitTimer.recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds &- started))
            Self.batchSize.record(batch.count)
            for (write, result) in zip(batch, results) { write.complete(result) }
            // Decided after the completions, which may queue retries ahead of later writes.
            let (more, idleWaiters) = self.state.withLockedValue { state -> (Bool, [@Sendable () -> Void]) in
                guard state.pending.isEmpty else { return (true, []) }
                state.isCommitting = false
                defer { state.idleWaiters.removeAll() }
                return (false, state.idleWaiters)
            }
            self.gate.release()
            for waiter in idleWaiters { waiter() }
            if more { self.gate.acquire { self.commitPending() } }
        }
    }

    /// The usual case runs the batch without savepoints (every statement is a trip to
    /// SQLite's thread); a lone single-statement write needs no BEGIN/COMMIT at all, since
    /// SQLite commits one statement atomically and durably by itself. Only when some write
    /// fails is the batch run again with one savepoint per write, so that the others still
    /// commit.
    private func commit(_ batch: [PendingWrite]) -> EventLoopFuture<[Result<Void, any Error>]> {
        let loop = self.connection.eventLoop
        if batch.count == 1, batch[0].statements.count == 1 {
            let (sql, binds) = batch[0].statements[0]
            return self.connection.query(sql, binds).map { _ in [.success(())] }.recover { [.failure($0)] }
        }
        let statements = batch.flatMap(\.statements)
        return self.inTransaction(self.run(statements[...])).map { Array(repeating: .success(()), count: batch.count) }
            .flatMapError { error in
                batch.count == 1 ? loop.makeSucceededFuture([.failure(error)]) : self.commitIsolated(batch)
            }
    }

    private func commitIsolated(_ batch: [PendingWrite]) -> EventLoopFuture<[Result<Void, any Error>]> {
        let results = NIOLockedValueBox([Result<Void, any Error>](repeating: .success(()), count: batch.count))
        return self.inTransaction(self.runIsolated(batch[...], results: results)).map { results.withLockedValue { $0 } }
            .recover { error in Array(repeating: .failure(error), count: batch.count) }
    }

    /// Each write inside its own savepoint; a failing one is rolled back to it and recorded.
    private func runIsolated(
        _ writes: ArraySlice<PendingWrite>, results: NIOLockedValueBox<[Result<Void, any Error>]>
    ) -> EventLoopFuture<Void> {
        guard let write = writes.first else { return self.connection.eventLoop.makeSucceededVoidFuture() }
        let index = writes.startIndex
        return self.run(([("SAVEPOINT write", [])] + write.statements + [("RELEASE write", [])])[...])
            .flatMapError { error in
                results.withLockedValue { $0[index] = .failure(error) }
                // Should SQLite have rolled the whole transaction back (a full disk, an I/O
                // error), ROLLBACK TO fails: then the group fails as a whole, rather than its
                // later savepoints running outside any transaction.
                return self.run([("ROLLBACK TO write", []), ("RELEASE write", [])][...])
            }
            .flatMap { self.runIsolated(writes.dropFirst(), results: results) }
    }

    /// BEGIN, `body`, COMMIT; ROLLBACK when any of it fails.
    private func inTransaction(_ body: @autoclosure @escaping @Sendable () -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        self.connection.query("BEGIN IMMEDIATE").flatMap { _ in body() }
            .flatMap { self.connection.query("COMMIT").map { _ in } }
            .flatMapError { error in
                self.connection.query("ROLLBACK").flatMapThrowing { _ in throw error }.flatMapErrorThrowing { _ in throw error }
            }
    }

    /// The statements one after another; the first failure stops the run.
    private func run(_ statements: ArraySlice<(String, [SQLiteData])>) -> EventLoopFuture<Void> {
        guard let (sql, binds) = statements.first else { return self.connection.eventLoop.makeSucceededVoidFuture() }
        return self.connection.query(sql, binds).flatMap { _ in self.run(statements.dropFirst()) }
    }
}

/// Gathers the results of one call's writes; they are completed together by one commit loop.
final class ResultCollector: @unchecked Sendable {
    // @unchecked: `set` is only called from the committer's completion callbacks, one at a time.
    private var results: [Result<Void, any Error>]
    private var remaining: Int
    private let done: @Sendable ([Result<Void, any Error>]) -> Void

    init(count: Int, done: @escaping @Sendable ([Result<Void, any Error>]) -> Void) {
        self.results = Array(repeating: .success(()), count: count)
        self.remaining = count
        self.done = done
    }

    func set(_ index: Int, _ result: Result<Void, any Error>) {
        self.results[index] = result
        self.remaining -= 1
        if self.remaining == 0 { self.done(self.results) }
    }
}
