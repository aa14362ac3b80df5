import NIOConcurrencyHelpers
import NIOCore

/// Serialises work on the one SQLite connection: a transaction's statements never interleave
/// with another's. Callable without `await` (the group committer takes it from a future
/// callback) and with it (`acquire()`); waiters are served in arrival order.
final class SQLiteGate: Sendable {
    private struct State {
        var isHeld = false
        var waiters = CircularBuffer<@Sendable () -> Void>()
    }

    private let state = NIOLockedValueBox(State())

    /// Runs `body` once the gate is held by the caller: at once when it is free, else when
    /// the holders before have released it. `body` must lead to exactly one `release()`.
    func acquire(_ body: @escaping @Sendable () -> Void) {
        let runNow = self.state.withLockedValue { state -> Bool in
            if !state.isHeld {
                state.isHeld = true
                return true
            }
            state.waiters.append(body)
            return false
        }
        if runNow { body() }
    }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.acquire { continuation.resume() }
        }
    }

    /// Hands the gate to the next waiter, or frees it.
    func release() {
        let next = self.state.withLockedValue { state -> (@Sendable () -> Void)? in
            guard let next = state.waiters.popFirst() else {
                state.isHeld = false
                return nil
            }
            return next
        }
        next?()
    }
}
