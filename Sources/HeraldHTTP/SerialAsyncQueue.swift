/// Runs async operations one after another, each starting once the previous one has finished
/// (an actor alone does not: it lets another call in at every suspension point).
actor SerialAsyncQueue {
    private var tail: Task<Void, Never>?

    func run<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let previous = self.tail
        let task = Task {
            await previous?.value
            return try await operation()
        }
        self.tail = Task { _ = try? await task.value }
        return try await task.value
    }
}
