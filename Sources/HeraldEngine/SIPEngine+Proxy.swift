import HeraldStore
import NIOCore
import SIPCore
import SIPProtocol

/// One request being proxied statefully (RFC 3261 §16): its server transaction, the target
/// groups (equal q in parallel, then decreasing q), and the final responses collected.
final class ProxyContext: @unchecked Sendable {
    let entry: ServerTransactionEntry
    /// The request as it is forwarded: the received one, or a retargeted copy after a diversion.
    let request: SIPRequest
    let groups: [[BindingRecord]]
    let loopHash: String
    var groupIndex = 0
    var outstanding = 0
    var finals: [SIPResponse] = []
    var answered = false
    var cancelled = false
    var inviteBranches: [String: ClientInviteEntry] = [:]
    var finishedBranches: Set<String> = []
    /// The called user's forwarding rules (INVITE only) and how often this call was diverted.
    var forwarding: ForwardingRules?
    var diversions = 0
    var noAnswerTimerFired = false

    init(entry: ServerTransactionEntry, request: SIPRequest, groups: [[BindingRecord]], loopHash: String) {
        self.entry = entry
        self.request = request
        self.groups = groups
        self.loopHash = loopHash
    }
}

extension SIPEngine {
    /// Forwards a non-INVITE request to the registered contacts of its target (§16.6), and the
    /// best final response back (§16.7).
    func proxyNonInvite(_ entry: ServerTransactionEntry, bindings: [BindingRecord]) {
        guard entry.awaitsFinalResponse else { return }
        guard let context = self.proxyContext(entry, bindings: bindings) else { return }
        self.forwardNextGroup(context)
    }

    /// The context for proxying `entry`, or nil after answering 482 to a request that has
    /// already passed through Herald with the same loop hash (§16.3 step 4).
    func proxyContext(_ entry: ServerTransactionEntry, request: SIPRequest? = nil, bindings: [BindingRecord]) -> ProxyContext? {
        let essentials = entry.essentials
        let request = request ?? entry.request
        let loopHash = ProxyRules.loopHash(
            requestURI: request.requestURIText, fromTag: essentials.from.tag, toTag: essentials.to.tag, callID: essentials.callID,
            cseq: essentials.cseq.sequenceNumber)
        if ProxyRules.isLoop(vias: essentials.vias, ownSentBy: Set(self.configuration.sentBy.values.map { $0.lowercased() }), loopHash: loopHash) {
            self.respond(entry, status: 482)
            return nil
        }
        return ProxyContext(entry: entry, request: request, groups: ProxyRules.forkingGroups(bindings) { $0.qValue }, loopHash: loopHash)
    }

    /// Starts the next q-group of branches (§16.6), or ends the request when none is left.
    func forwardNextGroup(_ context: ProxyContext) {
        let isInvite = context.entry.request.method == .invite
        while context.groupIndex < context.groups.count, !context.cancelled, !context.noAnswerTimerFired {
            let group = context.groups[context.groupIndex]
            context.groupIndex += 1
            for binding in group {
                if isInvite { self.forwardInvite(context, to: binding) } else { self.forward(context, to: binding) }
            }
            if context.outstanding > 0 { return }
        }
        self.finishProxying(context)
    }

    /// The request as it goes to one target (§16.6): Request-URI set to the contact, our own
    /// Route entries consumed, one hop fewer, Path as Route (RFC 3327 §5.3), our Via with a
    /// loop-detecting branch, and Record-Route on a dialog-creating INVITE or REFER (§16.6 step
    /// 4; RFC 3515 §2.4.6: REFER makes a dialog whose NOTIFYs must come back through Herald).
    func forwardedRequest(_ context: ProxyContext, to binding: BindingRecord) -> (SIPRequest, branch: String, SIPDestination)? {
        guard let destination = binding.receivedFrom.flatMap(SIPDestination.init(storedForm:)),
            let target = try? SIPURI(parsing: binding.contactURI)
        else { return nil }
        var request = context.request
        self.removeOwnRoutes(&request)
        request.setRequestURI(target)
        // §16.6 step 6: a strict router as next hop wants itself in the Request-URI.
        _ = StrictRouting.addressStrictNextHop(&request)
        // §16.6 step 3: one hop fewer (70 when the request had none, RFC 2543 elements).
        request.headers.set(SIPHeaderName(.maxForwards), String(max(0, (context.entry.essentials.maxForwards ?? 71) - 1)))
        for route in binding.path.reversed() { request.headers.prepend(SIPHeaderName(.route), route) }
        let branch = Via.magicCookie + context.loopHash + "." + Self.makeTag()
        let sentBy = self.configuration.sentBy[destination.transport] ?? "127.0.0.1"
        request.headers.prepend(SIPHeaderName(.via), "SIP/2.0/\(destination.transport.viaToken) \(sentBy);branch=\(branch);rport")
        if Self.dialogCreatingMethods.contains(request.method), context.entry.essentials.to.tag == nil {
            let transport = destination.transport == .udp ? "" : ";transport=\(destination.transport.rawValue)"
            let token = self.recordRouteToken.token(callID: context.entry.essentials.callID)
            request.headers.prepend(SIPHeaderName(.recordRoute), "<sip:\(sentBy)\(transport);lr;\(RecordRouteToken.parameter)=\(token)>")
        }
        return (request, branch, destination)
    }

    private func forward(_ context: ProxyContext, to binding: BindingRecord) {
        guard let (request, branch, destination) = self.forwardedRequest(context, to: binding) else { return }
        context.outstanding += 1
        self.sendRequest(request, branch: branch, to: destination) { [weak self] response in
            self?.branchCompleted(context, response: response)
        }
    }

    private func branchCompleted(_ context: ProxyContext, response: SIPResponse?) {
        context.outstanding -= 1
        guard !context.answered else { return }
        if let response, (200..<300).contains(response.statusCode) {
            // §16.7 step 5: a 2xx is forwarded at once.
            context.answered = true
            self.forwardResponse(response, to: context.entry)
            return
        }
        if let response { context.finals.append(response) }
        guard context.outstanding == 0 else { return }
        if context.finals.contains(where: { $0.statusCode >= 600 }) {
            self.finishProxying(context)
        } else {
            self.forwardNextGroup(context)
        }
    }

    static let dialogCreatingMethods: Set<SIPMethod> = [.invite, .refer, .subscribe]

    /// Sends the best final response once every branch has answered (§16.7 step 6), unless the
    /// called user's forwarding rules divert the call instead.
    func finishProxying(_ context: ProxyContext) {
        self.proxiedInvites[context.entry.key] = nil
        guard !context.answered else { return }
        context.answered = true
        if self.divertUnansweredCall(context) { return }
        if context.cancelled {
            // §16.10: the caller gave up; "Request Terminated" is the answer she expects (§9.2),
            // rather than an earlier branch's failure.
            if let terminated = context.finals.first(where: { $0.statusCode == 487 }) {
                self.forwardResponse(terminated, to: context.entry)
            } else {
                self.respond(context.entry, status: 487)
            }
            return
        }
        guard let best = ProxyRules.bestResponseIndex(context.finals.map(\.statusCode)) else {
            // No branch could be reached or answered: 480 or 408.
            self.respond(context.entry, status: context.groups.isEmpty ? 480 : 408)
            return
        }
        self.forwardResponse(context.finals[best], to: context.entry)
    }

    /// Routes a request onward to `next` (a Route entry or, in a dialog, the peer's contact),
    /// keeping the Request-URI (§16.6 step 6, loose routing). Only IP-literal next hops are
    /// reachable: Herald resolves no names (a configured route table comes later).
    func forwardToNextHop(_ entry: ServerTransactionEntry, next: SIPURI, request: SIPRequest? = nil, diversions: Int = 0) {
        guard let destination = Self.nextHopDestination(next) else {
            self.respond(entry, status: 404, reason: "Not Found: next hop \(next.host) is not an IP address")
            return
        }
        guard entry.awaitsFinalResponse else { return }
        let request = request ?? entry.request
        let hop = BindingRecord(
            addressOfRecord: "", contactURI: request.requestURIText, contactHeader: "", callID: "", cseq: 0, expiresAt: Int64.max,
            receivedFrom: destination)
        guard let context = self.proxyContext(entry, request: request, bindings: [hop]) else { return }
        context.diversions = diversions
        if entry.request.method == .invite { self.proxiedInvites[entry.key] = context }
        self.forwardNextGroup(context)
    }

    /// §16.6 step 7: a request for another domain goes to its configured next hop, but only for
    /// senders Herald vouches for (its own authenticated users, trusted hosts), so that Herald
    /// is no open relay.
    func relay(_ entry: ServerTransactionEntry, nextHop: SIPURI) {
        let from = entry.essentials.from.uri
        guard self.isTrusted(entry) || (from.isSIP && from.user != nil && self.identity.domains.contains(from.hostKey)) else {
            self.respond(entry, status: 403, reason: "Relaying Not Allowed")
            return
        }
        self.authenticated(entry) { self.forwardToNextHop(entry, next: nextHop) }
    }

    /// §16.11: an ACK for a 2xx is passed on without a transaction.
    func forwardStatelessly(_ incoming: SIPRequest, essentials: RequestEssentials, to next: SIPURI) {
        guard let stored = Self.nextHopDestination(next), let destination = SIPDestination(storedForm: stored) else { return }
        var request = incoming
        self.removeOwnRoutes(&request)
        request.headers.set(SIPHeaderName(.maxForwards), String(max(0, (essentials.maxForwards ?? 71) - 1)))
        let hash = ProxyRules.loopHash(
            requestURI: request.requestURIText, fromTag: essentials.from.tag, toTag: essentials.to.tag, callID: essentials.callID,
            cseq: essentials.cseq.sequenceNumber)
        let sentBy = self.configuration.sentBy[destination.transport] ?? "127.0.0.1"
        request.headers.prepend(SIPHeaderName(.via), "SIP/2.0/\(destination.transport.viaToken) \(sentBy);branch=\(Via.magicCookie)\(hash).ack;rport")
        self.sink.send(SIPSerializer.serialize(request), to: destination, onFailure: nil)
    }

    /// `transport:ip:port` for an IP-literal URI (RFC 3263 without DNS: transport parameter,
    /// else UDP for sip and TLS for sips; default ports 5060 and 5061).
    static func nextHopDestination(_ uri: SIPURI) -> String? {
        let host = uri.hostKey
        guard (try? SocketAddress(ipAddress: host, port: 0)) != nil else { return nil }
        let transport = ((uri.parameter("transport") ?? nil)?.lowercased()).flatMap(SIPTransportKind.init(rawValue:))
            ?? (uri.scheme == .sips ? .tls : .udp)
        return "\(transport.rawValue):\(host):\(uri.port ?? transport.defaultPort)"
    }

    /// §16.4: Route entries at the top that name this proxy are consumed.
    func removeOwnRoutes(_ request: inout SIPRequest) {
        while let top = (try? request.routes())?.first, self.identity.isOwnAddress(top.uri) {
            guard (try? request.headers.removeFirstValue(SIPHeaderName(.route))) != nil else { return }
        }
    }

    /// Sends a downstream response upstream (§16.7 step 9): our Via removed, a 503 turned into
    /// 500 (§16.7 step 6), through the server transaction.
    func forwardResponse(_ response: SIPResponse, to entry: ServerTransactionEntry) {
        var forwarded = response
        try? forwarded.headers.removeFirstValue(SIPHeaderName(.via))
        if forwarded.statusCode == 503 {
            forwarded.statusCode = 500
            forwarded.reasonPhrase = "Server Internal Error: downstream service unavailable"
        }
        self.send(SIPSerializer.serialize(forwarded), statusCode: forwarded.statusCode, through: entry)
    }
}
