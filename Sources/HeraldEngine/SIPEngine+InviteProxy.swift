import HeraldStore
import NIOCore
import SIPCore
import SIPProtocol

/// An INVITE Herald forwarded, in its RFC 3261 §17.1.1 client transaction.
final class ClientInviteEntry: @unchecked Sendable {
    let branch: String
    var machine: ClientInviteTransaction
    let request: SIPRequest
    let bytes: [UInt8]
    let destination: SIPDestination
    /// Every response passed to the TU; nil once for a timeout or transport error.
    /// Every response passed to the TU; nil once for a timeout or transport error. Dropped when
    /// the transaction ends, which breaks the cycle with the proxy context that owns the entry.
    var onResponse: (SIPResponse?) -> Void
    var finished = false
    var lastResponse: SIPResponse?
    var cancelWhenProvisional = false
    var cancelSent = false
    var timerCGeneration = 0

    init(branch: String, machine: ClientInviteTransaction, request: SIPRequest, destination: SIPDestination, onResponse: @escaping (SIPResponse?) -> Void) {
        self.branch = branch
        self.machine = machine
        self.request = request
        self.bytes = SIPSerializer.serialize(request)
        self.destination = destination
        self.onResponse = onResponse
    }
}

extension SIPEngine {
    /// Forwards an INVITE to the user's contacts (§16.6): equal q in parallel, lower q after
    /// failures; provisional responses and every 2xx go upstream as they come (§16.7 steps 5, 10),
    /// pending branches are cancelled after a 2xx or 6xx, and the best final response ends it.
    func proxyInvite(_ entry: ServerTransactionEntry, request: SIPRequest? = nil, bindings: [BindingRecord], forwarding: ForwardingRules? = nil, diversions: Int = 0) {
        // A CANCEL (or another answer) may have ended the request while the callee was looked up.
        guard entry.awaitsFinalResponse else { return }
        guard let context = self.proxyContext(entry, request: request, bindings: bindings) else { return }
        context.forwarding = forwarding
        context.diversions = diversions
        self.proxiedInvites[entry.key] = context
        if let rules = forwarding, rules.noAnswer != nil {
            self.schedule(at: self.instant + .seconds(rules.noAnswerSeconds)) { [weak self] in self?.noAnswerTimeout(context) }
        }
        self.forwardNextGroup(context)
    }

    func forwardInvite(_ context: ProxyContext, to binding: BindingRecord) {
        guard let (request, branch, destination) = self.forwardedRequest(context, to: binding) else { return }
        context.outstanding += 1
        let machine = ClientInviteTransaction(reliableTransport: destination.transport.isReliable, settings: self.configuration.timers)
        let client = ClientInviteEntry(branch: branch, machine: machine, request: request, destination: destination) { [weak self] response in
            self?.inviteBranchResponded(context, branch: branch, response: response)
        }
        context.inviteBranches[branch] = client
        self.inviteClientTransactions[branch] = client
        let actions = client.machine.start(now: self.instant)
        self.apply(actions, to: client, response: nil)
        self.startTimerC(client)
    }

    /// §16.8 Timer C: a branch that rings too long is cancelled; one that never answered at all
    /// counts as a 408. Every provisional response restarts it.
    func startTimerC(_ client: ClientInviteEntry) {
        client.timerCGeneration += 1
        let generation = client.timerCGeneration
        self.schedule(at: self.instant + self.configuration.proxyInviteTimeout) { [weak self] in
            guard let self, !client.finished, client.timerCGeneration == generation else { return }
            guard client.lastResponse?.isProvisional == true else {
                self.abandon(client)
                return
            }
            self.sendCancel(for: client)
            // §9.1: without a final response to the CANCEL within 64*T1, the branch is given up.
            self.schedule(at: self.instant + self.configuration.timers.timerB) { [weak self] in
                if !client.finished { self?.abandon(client) }
            }
        }
    }

    /// Ends a branch as if it had timed out (408, §16.8): nothing more is expected from it.
    private func abandon(_ client: ClientInviteEntry) {
        client.finished = true
        self.inviteClientTransactions[client.branch] = nil
        client.onResponse(nil)
        client.onResponse = { _ in }
    }

    /// The called user's no-answer time ran out: pending branches are cancelled and, once they
    /// have ended, the call goes to the no-answer target (seed 004's "No Answer" divert).
    func noAnswerTimeout(_ context: ProxyContext) {
        guard !context.answered, !context.cancelled, self.proxiedInvites[context.entry.key] === context else { return }
        context.noAnswerTimerFired = true
        self.cancelPendingBranches(context)
    }

    private func inviteBranchResponded(_ context: ProxyContext, branch: String, response: SIPResponse?) {
        guard let response else {
            context.outstanding -= 1
            context.finishedBranches.insert(branch)
            self.inviteBranchesSettled(context)
            return
        }
        switch response.statusCode {
        case 100:
            return
        case 101..<200:
            if !context.answered { self.forwardResponse(response, to: context.entry) }
        case 200..<300:
            if !context.finishedBranches.contains(branch) {
                context.finishedBranches.insert(branch)
                context.outstanding -= 1
            }
            if context.answered {
                // Another fork's 2xx, or a retransmission: passed on statelessly (RFC 6026 §7.3).
                var forwarded = response
                try? forwarded.headers.removeFirstValue(SIPHeaderName(.via))
                self.sink.send(SIPSerializer.serialize(forwarded), to: context.entry.destination, onFailure: nil)
            } else {
                context.answered = true
                self.forwardResponse(response, to: context.entry)
                self.cancelPendingBranches(context)
                self.proxiedInvites[context.entry.key] = nil
            }
        default:
            context.finishedBranches.insert(branch)
            context.outstanding -= 1
            context.finals.append(response)
            if response.statusCode >= 600 { self.cancelPendingBranches(context) }
            self.inviteBranchesSettled(context)
        }
    }

    private func inviteBranchesSettled(_ context: ProxyContext) {
        guard context.outstanding == 0, !context.answered else { return }
        if context.cancelled || context.noAnswerTimerFired || context.finals.contains(where: { $0.statusCode >= 600 }) {
            self.finishProxying(context)
        } else {
            self.forwardNextGroup(context)
        }
    }

    /// §16.10: a CANCEL for a proxied INVITE is answered here and sent down every pending branch;
    /// their 487s end the INVITE.
    func cancelProxiedInvite(_ invite: ServerTransactionEntry) -> Bool {
        guard let context = self.proxiedInvites[invite.key] else { return false }
        context.cancelled = true
        self.cancelPendingBranches(context)
        return true
    }

    func cancelPendingBranches(_ context: ProxyContext) {
        for (branch, client) in context.inviteBranches where !context.finishedBranches.contains(branch) && !client.finished {
            guard client.lastResponse != nil else {
                // §9.1: CANCEL only after a provisional response; until then, wait for one.
                client.cancelWhenProvisional = true
                continue
            }
            self.sendCancel(for: client)
        }
    }

    func sendCancel(for client: ClientInviteEntry) {
        guard !client.cancelSent else { return }
        client.cancelSent = true
        var headers = SIPHeaders()
        for field in client.request.headers.fields {
            switch field.known {
            case .from, .to, .callID, .route, .maxForwards: headers.add(field)
            default: continue
            }
        }
        if let via = try? client.request.topVia() { headers.prepend(SIPHeaderName(.via), via.description) }
        let number = (try? client.request.cseq().sequenceNumber) ?? 1
        headers.add(SIPHeaderName(.cseq), "\(number) CANCEL")
        headers.add(SIPHeaderName(.contentLength), "0")
        let cancel = SIPRequest(method: .cancel, uri: (try? client.request.requestURI()) ?? SIPURI(host: "invalid"), headers: headers)
        self.sendRequest(cancel, branch: client.branch, to: client.destination) { _ in }
    }

    /// ACK for a non-2xx final response, hop by hop (§17.1.1.3).
    func sendAck(for client: ClientInviteEntry, response: SIPResponse) {
        var headers = SIPHeaders()
        if let via = try? client.request.topVia() { headers.add(SIPHeaderName(.via), via.description) }
        for field in client.request.headers.fields {
            switch field.known {
            case .from, .callID, .route, .maxForwards: headers.add(field)
            default: continue
            }
        }
        if let to = response.headers.fields.first(where: { $0.known == .to }) { headers.add(to) }
        let number = (try? client.request.cseq().sequenceNumber) ?? 1
        headers.add(SIPHeaderName(.cseq), "\(number) ACK")
        headers.add(SIPHeaderName(.contentLength), "0")
        let ack = SIPRequest(method: .ack, uri: (try? client.request.requestURI()) ?? SIPURI(host: "invalid"), headers: headers)
        self.sink.send(SIPSerializer.serialize(ack), to: client.destination, onFailure: nil)
    }

    func handleInviteResponse(_ response: SIPResponse, branch: String) -> Bool {
        guard let client = self.inviteClientTransactions[branch] else { return false }
        let actions = client.machine.responseReceived(statusCode: response.statusCode, now: self.instant)
        self.apply(actions, to: client, response: response)
        return true
    }

    func apply(_ actions: [ClientInviteTransaction.Action], to client: ClientInviteEntry, response: SIPResponse?) {
        for action in actions {
            switch action {
            case .sendRequest, .retransmitRequest:
                self.sink.send(client.bytes, to: client.destination, onFailure: nil)
            case .passResponseToTU:
                guard let response else { continue }
                client.lastResponse = response
                if response.isFinal { client.finished = true }
                client.onResponse(response)
                if response.isProvisional {
                    // §16.7 step 2: a 101-199 response restarts Timer C.
                    if client.cancelWhenProvisional { self.sendCancel(for: client) } else if response.statusCode > 100 { self.startTimerC(client) }
                }
            case .sendAck:
                if let response { self.sendAck(for: client, response: response) }
            case .scheduleTimer(let timer, let at):
                let branch = client.branch
                self.schedule(at: at) { [weak self] in
                    guard let self, let client = self.inviteClientTransactions[branch] else { return }
                    self.apply(client.machine.timerFired(timer, now: self.instant), to: client, response: nil)
                }
            case .cancelTimer:
                break
            case .notifyTimeout, .notifyTransportError:
                if !client.finished {
                    client.finished = true
                    client.onResponse(nil)
                }
            case .terminate:
                self.inviteClientTransactions[client.branch] = nil
                client.onResponse = { _ in }
            }
        }
    }
}
