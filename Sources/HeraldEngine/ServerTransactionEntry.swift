import NIOCore
import SIPCore
import SIPProtocol

/// One live server transaction: its state machine, the request it serves, where responses
/// go, the latest response (for retransmissions) and its armed timers.
/// `@unchecked Sendable`: entries are created, read and changed only on the engine loop; futures
/// completing on that loop carry them between steps.
final class ServerTransactionEntry: @unchecked Sendable {
    enum Machine {
        case invite(ServerInviteTransaction)
        case nonInvite(ServerNonInviteTransaction)
    }

    let key: ServerTransactionKey
    var machine: Machine
    let request: SIPRequest
    let essentials: RequestEssentials
    let destination: SIPDestination
    let toTag: String
    let mergeKey: MergedRequestKey?
    var lastResponse: [UInt8]?

    init(
        key: ServerTransactionKey, machine: Machine, request: SIPRequest, essentials: RequestEssentials,
        destination: SIPDestination, toTag: String, mergeKey: MergedRequestKey?
    ) {
        self.key = key
        self.machine = machine
        self.request = request
        self.essentials = essentials
        self.destination = destination
        self.toTag = toTag
        self.mergeKey = mergeKey
    }

    /// True until a final response has been sent.
    var awaitsFinalResponse: Bool {
        switch self.machine {
        case .invite(let machine): return machine.state == .proceeding
        case .nonInvite(let machine): return machine.state == .trying || machine.state == .proceeding
        }
    }
}

/// The actions of both server machines, unified so the engine carries them out in one place.
enum ServerTransactionAction {
    case sendTrying
    case sendResponse
    case resendLastResponse
    case scheduleTimer(TransactionTimer, at: SIPInstant)
    case cancelTimer(TransactionTimerName)
    case report(String)
    case terminate

    init(_ action: ServerInviteTransaction.Action) {
        switch action {
        case .sendTrying: self = .sendTrying
        case .sendResponse: self = .sendResponse
        case .resendLastResponse: self = .resendLastResponse
        case .scheduleTimer(let timer, let at): self = .scheduleTimer(timer, at: at)
        case .cancelTimer(let name): self = .cancelTimer(name)
        case .passAckToTU: self = .report("ACK for a 2xx reached the transaction")
        case .notifyTimeout: self = .report("no ACK for the final response (Timer H)")
        case .notifyTransportError: self = .report("transport error")
        case .terminate: self = .terminate
        }
    }

    init(_ action: ServerNonInviteTransaction.Action) {
        switch action {
        case .sendResponse: self = .sendResponse
        case .resendLastResponse: self = .resendLastResponse
        case .scheduleTimer(let timer, let at): self = .scheduleTimer(timer, at: at)
        case .cancelTimer(let name): self = .cancelTimer(name)
        case .notifyTransportError: self = .report("transport error")
        case .terminate: self = .terminate
        }
    }
}
