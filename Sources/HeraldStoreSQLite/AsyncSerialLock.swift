/// Serialises multi-statement work on the one SQLite connection: an actor is reentrant at
/// every `await`, so without this two transactions could interleave their statements.
actor AsyncSerialLock {
    private var isHeld = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !self.isHeld {
            self.isHeld = true
            return
        }
        await withCheckedContinuation { self.waiters.append($0) }
    }

    func release() {
        if self.waiters.isEmpty {
            self.isHeld = false
        } else {
            self.waiters.removeFirst().resume()
        }
    }
}
