@testable import SIPProtocol
import Testing

/// The transaction actions that deal in timers, the same in all four machines.
protocol TransactionActionForTesting: Equatable {
    var scheduledTimer: (timer: TransactionTimer, at: SIPInstant)? { get }
    var cancelledTimer: TransactionTimerName? { get }
}

/// The event every transaction machine shares with the virtual timer queue.
protocol TimerDrivenTransaction {
    associatedtype Action: TransactionActionForTesting
    mutating func timerFired(_ timer: TransactionTimer, now: SIPInstant) -> [Action]
}

extension Array where Element: TransactionActionForTesting {
    /// The first timer of this name the actions schedule.
    func timer(_ name: TransactionTimerName) -> TransactionTimer? {
        self.lazy.compactMap(\.scheduledTimer).first { $0.timer.name == name }?.timer
    }

    /// When the actions schedule the timer of this name.
    func deadline(_ name: TransactionTimerName) -> SIPInstant? {
        self.lazy.compactMap(\.scheduledTimer).first { $0.timer.name == name }?.at
    }

    /// The names of all timers the actions schedule, in order.
    var scheduledNames: [TransactionTimerName] {
        self.compactMap(\.scheduledTimer).map(\.timer.name)
    }
}

/// A virtual timer wheel: follows schedule and cancel actions and fires the earliest
/// pending timer, in the order a real engine would.
struct VirtualTimers {
    private(set) var pending: [(timer: TransactionTimer, at: SIPInstant)] = []

    mutating func record<A: TransactionActionForTesting>(_ actions: [A]) {
        for action in actions {
            if let name = action.cancelledTimer {
                self.pending.removeAll { $0.timer.name == name }
            }
            if let scheduled = action.scheduledTimer {
                self.pending.removeAll { $0.timer.name == scheduled.timer.name }
                self.pending.append(scheduled)
            }
        }
    }

    /// Fires the earliest pending timer into `transaction`; returns when and what fired
    /// and the actions, which are recorded too.
    mutating func fireNext<T: TimerDrivenTransaction>(
        into transaction: inout T
    ) -> (at: SIPInstant, name: TransactionTimerName, actions: [T.Action])? {
        guard let index = self.pending.indices.min(by: { self.pending[$0].at < self.pending[$1].at }) else {
            return nil
        }
        let (timer, at) = self.pending.remove(at: index)
        let actions = transaction.timerFired(timer, now: at)
        self.record(actions)
        return (at, timer.name, actions)
    }
}

/// A timer of the same name from a generation this transaction never armed.
func forgedStale(_ timer: TransactionTimer) -> TransactionTimer {
    TransactionTimer(name: timer.name, generation: timer.generation &+ 1000)
}

extension ServerNonInviteTransaction.Action: TransactionActionForTesting {
    var scheduledTimer: (timer: TransactionTimer, at: SIPInstant)? {
        if case .scheduleTimer(let timer, let at) = self { return (timer, at) }
        return nil
    }
    var cancelledTimer: TransactionTimerName? {
        if case .cancelTimer(let name) = self { return name }
        return nil
    }
}

extension ServerInviteTransaction.Action: TransactionActionForTesting {
    var scheduledTimer: (timer: TransactionTimer, at: SIPInstant)? {
        if case .scheduleTimer(let timer, let at) = self { return (timer, at) }
        return nil
    }
    var cancelledTimer: TransactionTimerName? {
        if case .cancelTimer(let name) = self { return name }
        return nil
    }
}

extension ClientNonInviteTransaction.Action: TransactionActionForTesting {
    var scheduledTimer: (timer: TransactionTimer, at: SIPInstant)? {
        if case .scheduleTimer(let timer, let at) = self { return (timer, at) }
        return nil
    }
    var cancelledTimer: TransactionTimerName? {
        if case .cancelTimer(let name) = self { return name }
        return nil
    }
}

extension ClientInviteTransaction.Action: TransactionActionForTesting {
    var scheduledTimer: (timer: TransactionTimer, at: SIPInstant)? {
        if case .scheduleTimer(let timer, let at) = self { return (timer, at) }
        return nil
    }
    var cancelledTimer: TransactionTimerName? {
        if case .cancelTimer(let name) = self { return name }
        return nil
    }
}

extension ServerNonInviteTransaction: TimerDrivenTransaction {}
extension ServerInviteTransaction: TimerDrivenTransaction {}
extension ClientNonInviteTransaction: TimerDrivenTransaction {}
extension ClientInviteTransaction: TimerDrivenTransaction {}
