import NIOCore
import SIPCore
import SIPProtocol

extension SIPEngine {
    /// Sends a non-INVITE request in a client transaction (RFC 3261 §17.1.2): retransmitted on
    /// Timer E over UDP, given up on Timer F. `completion` runs once, on the engine loop.
    func sendRequest(_ request: SIPRequest, branch: String, to destination: SIPDestination, completion: @escaping (SIPResponse?) -> Void) {
        self.sendRequest(bytes: SIPSerializer.serialize(request), method: request.method, branch: branch, to: destination, completion: completion)
    }

    /// The same, for a request already serialized; `branch` is its topmost Via's.
    func sendRequest(
        bytes: [UInt8], method: SIPMethod, branch: String, to destination: SIPDestination, completion: @escaping (SIPResponse?) -> Void
    ) {
        self.loop.preconditionInEventLoop()
        // A retransmitted final response without its transaction is a stray one, which the engine
        // drops just as Timer K would have absorbed it: no 5 s timer per request (one per NOTIFY).
        var machine = ClientNonInviteTransaction(
            reliableTransport: destination.transport.isReliable, settings: self.configuration.timers, absorbsResponseRetransmissions: false)
        let entry = ClientTransactionEntry(
            branch: branch, method: method, machine: machine, bytes: bytes, destination: destination, completion: completion)
        let actions = machine.start(now: self.instant)
        entry.machine = machine
        self.clientTransactions[branch] = entry
        self.apply(actions, to: entry, response: nil)
    }

    /// A response arrived: find its client transaction by the topmost Via branch (§17.1.3).
    func handleResponse(_ response: SIPResponse) {
        // Matching needs only the topmost Via branch and the CSeq method (RFC 3261 §17.1.3); the
        // rest of a response to our own request is not interpreted, so the branch is read
        // from the bytes without parsing the Via.
        guard let branch = response.topViaBranch() else {
            self.statistics.responsesDropped += 1
            return
        }
        let method = (try? response.cseq())?.method
        if method == .invite, self.handleInviteResponse(response, branch: branch) { return }
        guard let entry = self.clientTransactions[branch], method == entry.method else {
            self.statistics.responsesDropped += 1
            return
        }
        let actions = entry.machine.responseReceived(statusCode: response.statusCode, now: self.instant)
        self.apply(actions, to: entry, response: response)
    }

    /// A timer of a client transaction fired; one whose transaction has ended does nothing.
    func clientTransactionTimerFired(_ timer: TransactionTimer, branch: String) {
        guard let entry = self.clientTransactions[branch] else { return }
        self.apply(entry.machine.timerFired(timer, now: self.instant), to: entry, response: nil)
    }

    func apply(_ actions: [ClientNonInviteTransaction.Action], to entry: ClientTransactionEntry, response: SIPResponse?) {
        for action in actions {
            switch action {
            case .sendRequest, .retransmitRequest:
                let branch = entry.branch
                self.sink.send(entry.bytes, to: entry.destination) { [weak self] _ in
                    guard let self else { return }
                    self.loop.execute {
                        guard let entry = self.clientTransactions[branch] else { return }
                        self.apply(entry.machine.transportFailed(now: self.instant), to: entry, response: nil)
                    }
                }
            case .passResponseToTU:
                if let response, response.isFinal, !entry.completed {
                    entry.completed = true
                    entry.completion(response)
                }
            case .notifyTimeout, .notifyTransportError:
                if !entry.completed {
                    entry.completed = true
                    entry.completion(nil)
                }
            case .scheduleTimer(let timer, let at):
                self.scheduleClientTransactionTimer(timer, branch: entry.branch, at: at)
            case .cancelTimer:
                break
            case .terminate:
                self.clientTransactions[entry.branch] = nil
            }
        }
    }
}
