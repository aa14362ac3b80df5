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
    private(set) var request: SIPRequest
    private(set) var essentials: RequestEssentials
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

    /// A completed non-INVITE transaction only absorbs retransmissions for Timer J's 32 s
    /// (RFC 3261 §17.2.2): it needs its key and last response, not the parsed request, which
    /// is dropped so that a burst of transactions does not hold kilobytes each meanwhile.
    func releaseRequest() {
        self.request = Self.placeholder.request
        self.essentials = Self.placeholder.essentials
    }

    private static let placeholder: (request: SIPRequest, essentials: RequestEssentials) = {
        let text = "OPTIONS sip:invalid SIP/2.0\r\nVia: SIP/2.0/UDP invalid;branch=z9hG4bKreleased\r\nFrom: <sip:invalid>;tag=x\r\n"
            + "To: <sip:invalid>\r\nCall-ID: released\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        guard case .request(let request)? = try? SIPMessageParser.parse(Array(text.utf8)), let essentials = try? request.validate() else {
            preconditionFailure("the placeholder request is well-formed")
        }
        return (request, essentials)
    }()

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
