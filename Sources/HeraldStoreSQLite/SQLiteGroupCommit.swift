import Dispatch
import HeraldStore
import Metrics
import SQLiteNIO

/// Group commit: writes that arrive while a commit is running wait and are committed together
/// in the next transaction, so one fsync acknowledges many changes (a PUBLISH burst costs one
/// disk flush, not one each). Each write runs in its own savepoint, so one failing write does
/// not undo the others.
struct PendingWrite: Sendable {
    var statements: [(String, [SQLiteData])]
    var continuation: CheckedContinuation<Void, any Error>
}

extension SQLiteHeraldStore {
    /// Time from BEGIN to COMMIT of one group (the fsync included).
    static let commitTimer = Metrics.Timer(label: "herald_store_commit_seconds")
    /// Writes acknowledged by one commit.
    static let batchSize = Recorder(label: "herald_store_commit_batch_size", aggregate: true)

    /// Applies `statements` atomically and durably; returns once they are committed.
    func write(_ statements: [(String, [SQLiteData])]) async throws {
        try await withCheckedThrowingContinuation { continuation in
            self.enqueue(PendingWrite(statements: statements, continuation: continuation))
        }
    }

    private func enqueue(_ write: PendingWrite) {
        self.pendingWrites.append(write)
        guard !self.isCommitting else { return }
        self.isCommitting = true
        Task { await self.commitPendingWrites() }
    }

    private func commitPendingWrites() async {
        while !self.pendingWrites.isEmpty {
            let batch = self.pendingWrites
            self.pendingWrites.removeAll()
            var results = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
            await self.lock.acquire()
            let started = DispatchTime.now().uptimeNanoseconds
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
            Self.commitTimer.recordNanoseconds(Int64(clamping: DispatchTime.now().uptimeNanoseconds &- started))
            Self.batchSize.record(batch.count)
            await self.lock.release()
            for (write, result) in zip(batch, results) { write.continuation.resume(with: result) }
        }
        self.isCommitting = false
    }
}
