import Dispatch
import HeraldStore
import Metrics
import SQLiteNIO

/// Group commit: writes that arrive while a commit is running wait and are committed together
/// in the next transaction, so one fsync acknowledges many changes (a PUBLISH burst costs one
/// disk flush, not one each). A failing write does not undo the others: the batch is then run
/// again with one savepoint per write.
struct PendingWrite: Sendable {
    var statements: [(String, [SQLiteData])]
    var complete: @Sendable (Result<Void, any Error>) -> Void
}

extension SQLiteHeraldStore {
    /// Time from BEGIN to COMMIT of one group (the fsync included).
    static let commitTimer = Metrics.Timer(label: "herald_store_commit_seconds")
    /// Writes acknowledged by one commit.
    static let batchSize = Recorder(label: "herald_store_commit_batch_size", aggregate: true)

    /// Applies `statements` atomically and durably; returns once they are committed.
    func write(_ statements: [(String, [SQLiteData])]) async throws {
        try await withCheckedThrowingContinuation { continuation in
            self.enqueue([PendingWrite(statements: statements, complete: { continuation.resume(with: $0) })])
        }
    }

    /// Several independent writes handed over in one call; the result of each, in order.
    func write(groups: [[(String, [SQLiteData])]]) async -> [Result<Void, any Error>] {
        guard !groups.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let collector = ResultCollector(count: groups.count) { continuation.resume(returning: $0) }
            self.enqueue(groups.enumerated().map { index, statements in
                PendingWrite(statements: statements, complete: { collector.set(index, $0) })
            })
        }
    }

    private func enqueue(_ writes: [PendingWrite]) {
        self.pendingWrites.append(contentsOf: writes)
        guard !self.isCommitting else { return }
        self.isCommitting = true
        Task { await self.commitPendingWrites() }
    }

    private func commitPendingWrites() async {
        while !self.pendingWrites.isEmpty {
            let batch = self.pendingWrites
            self.pendingWrites.removeAll()
            await self.lock.acquire()
            let started = DispatchTime.now().uptimeNanoseconds
            // Every statement is a hop to SQLite's thread, so the usual case runs the batch
            // without savepoints; only when some write fails is the batch run again with one
            // savepoint per write, so that the others still commit.
            var results: [Result<Void, any Error>]
            do {
                try await self.commit(batch)
                results = Array(repeating: .success(()), count: batch.count)
            } catch {
                results = batch.count == 1 ? [.failure(error)] : await self.commitIsolated(batch)
            }
            Self.commitTimer.recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds &- started))
            Self.batchSize.record(batch.count)
            await self.lock.release()
            for (write, result) in zip(batch, results) { write.complete(result) }
        }
        self.isCommitting = false
    }

    private func commit(_ batch: [PendingWrite]) async throws {
        _ = try await self.connection.query("BEGIN IMMEDIATE")
        do {
            for write in batch {
                for (sql, binds) in write.statements { _ = try await self.connection.query(sql, binds) }
            }
            _ = try await self.connection.query("COMMIT")
        } catch {
            _ = try? await self.connection.query("ROLLBACK")
            throw error
        }
    }

    private func commitIsolated(_ batch: [PendingWrite]) async -> [Result<Void, any Error>] {
        var results = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
        do {
            _ = try await self.connection.query("BEGIN IMMEDIATE")
            for (index, write) in batch.enumerated() {
                do {
                    _ = try await self.connection.query("SAVEPOINT write")
                    for (sql, binds) in write.statements { _ = try await self.connection.query(sql, binds) }
                    _ = try await self.connection.query("RELEASE write")
                } catch {
                    _ = try? await self.connection.query("ROLLBACK TO write")
                    _ = try? await self.connection.query("RELEASE write")
                    results[index] = .failure(error)
                }
            }
            _ = try await self.connection.query("COMMIT")
        } catch {
            _ = try? await self.connection.query("ROLLBACK")
            results = Array(repeating: .failure(error), count: batch.count)
        }
        return results
    }
}

/// Gathers the results of one call's writes; they are completed together by one commit loop.
final class ResultCollector: @unchecked Sendable {
    // @unchecked: `set` is only called from the store actor's commit loop, one at a time.
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
