import HeraldStore
import SIPCore
import SIPProtocol

/// What the proxy knows about a called user of a served domain.
struct Callee: Sendable {
    var bindings: [BindingRecord]
    var known: Bool
    var forwarding: ForwardingRules?
}

extension SIPEngine {
    /// Routes a call to a user of a served domain through her forwarding rules (seed 004):
    /// unconditional diversion first, unreachable when nothing is registered, and busy or
    /// no-answer decided when the branches end (`divertUnansweredCall`).
    func proxyCall(_ entry: ServerTransactionEntry, request: SIPRequest, callee: Callee, diversions: Int) {
        let rules = callee.forwarding
        if let target = rules?.unconditional, self.divert(entry, request: request, to: target, reason: .unconditional, diversions: diversions) {
            return
        }
        guard callee.known else {
            self.respond(entry, status: 404)
            return
        }
        guard !callee.bindings.isEmpty else {
            if let target = rules?.unreachable, self.divert(entry, request: request, to: target, reason: .unreachable, diversions: diversions) {
                return
            }
            self.respond(entry, status: 480)
            return
        }
        self.proxyInvite(entry, request: request, bindings: callee.bindings, forwarding: rules, diversions: diversions)
    }

    /// Called when every branch of a call has ended without a 2xx: diverts it when the user's
    /// rules say so. Returns false when the best response is to go upstream as usual.
    func divertUnansweredCall(_ context: ProxyContext) -> Bool {
        guard let rules = context.forwarding, context.entry.request.method == .invite,
            let reason = CallForwardingPolicy.reason(
                finalStatuses: context.finals.map(\.statusCode), noAnswerTimerFired: context.noAnswerTimerFired,
                hadContacts: !context.groups.isEmpty, cancelledByCaller: context.cancelled)
        else { return false }
        let target: String? =
            switch reason {
            case .unconditional: rules.unconditional
            case .busy: rules.busy
            case .noAnswer: rules.noAnswer
            case .unreachable: rules.unreachable
            }
        guard let target else { return false }
        return self.divert(context.entry, request: context.request, to: target, reason: reason, diversions: context.diversions)
    }

    /// Retargets the call to `target` (RFC 3261 §16.5 "the proxy may change the Request-URI"),
    /// recording the diversion in History-Info (RFC 7044 §9) with the RFC 4458 cause. A target
    /// in a served domain is looked up like any callee (her own rules apply, up to
    /// `CallForwardingPolicy.maximumDiversions`); another domain needs a static route.
    func divert(_ entry: ServerTransactionEntry, request: SIPRequest, to target: String, reason: DiversionReason, diversions: Int) -> Bool {
        guard diversions < CallForwardingPolicy.maximumDiversions, let targetURI = try? SIPURI(parsing: target), targetURI.isSIP else {
            return false
        }
        let local = self.identity.isLocal(targetURI) && targetURI.user != nil
        let nextHop = local ? nil : self.configuration.routes.nextHop(for: targetURI)
        guard local || nextHop != nil else {
            self.logger.info("call forwarding target unreachable: no route", metadata: ["target": "\(target)"])
            return false
        }
        var retargeted = request
        Self.recordDiversion(&retargeted, to: targetURI, cause: reason.cause)
        retargeted.setRequestURI(targetURI)
        self.logger.debug("diverting call", metadata: ["target": "\(target)", "reason": "\(reason.rawValue)"])
        if let nextHop {
            self.forwardToNextHop(entry, next: nextHop, request: retargeted, diversions: diversions + 1)
        } else {
            let diverted = retargeted
            self.lookUpCallee(targetURI, wantsForwarding: true, for: entry) { callee in
                self.proxyCall(entry, request: diverted, callee: callee, diversions: diversions + 1)
            }
        }
        return true
    }

    /// RFC 7044 §10.1: the current target is recorded (index 1 when the request carries no
    /// History-Info yet), and the new target becomes a child of the last entry, with `mp`
    /// naming the entry it was retargeted from and the cause in its URI (RFC 4458).
    static func recordDiversion(_ request: inout SIPRequest, to target: SIPURI, cause: Int) {
        let name = SIPHeaderName("History-Info")
        let existing = request.headers.tokens(name).compactMap { try? NameAddress(parsing: $0, header: "History-Info") }
        var previous = existing.last.flatMap { entry in entry.parameters.first { $0.name.lowercased() == "index" }?.value } ?? ""
        if previous.isEmpty {
            request.headers.add(name, "<\(request.requestURIText)>;index=1")
            previous = "1"
        }
        var entry = target
        entry.parameters.removeAll { $0.name.lowercased() == "cause" }
        entry.parameters.append(SIPParameter("cause", String(cause)))
        request.headers.add(name, "<\(entry)>;index=\(previous).1;mp=\(previous)")
    }
}
