#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HeraldStore
import PresenceDocuments
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPProtocol

/// The thin driver between the transports and the protocol machines. It parses what arrives,
/// matches server transactions, asks the pure rules what to do, and carries out their actions:
/// sending through the `OutboundSink`, arming timers on its event loop, reading and writing the
/// store. All of its state is confined to `loop`.
public final class SIPEngine: SIPPacketReceiver, @unchecked Sendable {
    // @unchecked: every mutable property is touched only on `loop` (checked with preconditions).
    public let loop: any EventLoop
    private(set) var configuration: EngineConfiguration
    private(set) var identity: ServerIdentity
    /// Our Contact and the start of our Via (up to `;branch=`) per transport, made at start
    /// and again when the listeners are bound: every NOTIFY carries both.
    private(set) var contactHeaders: [SIPTransportKind: String] = [:]
    private(set) var viaPrefixes: [SIPTransportKind: String] = [:]
    let sink: any OutboundSink
    let store: any HeraldStore
    let logger: Logger
    let now: @Sendable () -> NIODeadline
    let wallClock: @Sendable () -> Int64
    var transactions: [ServerTransactionKey: ServerTransactionEntry] = [:]
    var mergedRequests: [MergedRequestKey: ServerTransactionKey] = [:]
    var registrarQueues: [String: EventLoopFuture<Void>] = [:]
    /// Last responses of completed non-INVITE transactions over UDP, until their Timer J.
    var completedResponses = CompletedResponseCache()
    var clientTransactions: [String: ClientTransactionEntry] = [:]
    var inviteClientTransactions: [String: ClientInviteEntry] = [:]
    /// Proxied INVITEs still waiting for a final response, for CANCEL (§16.10).
    var proxiedInvites: [ServerTransactionKey: ProxyContext] = [:]
    var subscriptions: [String: SubscriptionEntry] = [:]
    /// Waiting requests (RFC 3857 §4.7.1) by watcher address-of-record, oldest first, for
    /// `EngineConfiguration.maxWaitingPerWatcher`.
    var waitingByWatcher: [String: [String]] = [:]
    /// The subscriptions' dialogs by a hash of our (local) tag (`SubscriptionDialog.key`), to
    /// find the dialog of an in-dialog SUBSCRIBE; 8-byte keys keep the table small.
    var dialogs: [UInt64: SubscriptionDialog] = [:]
    /// Resource list subscriptions by member address-of-record (RFC 4662), for fan-out of the
    /// members' state and rules.
    var listSubscriptionsByMember: [String: Set<String>] = [:]
    /// Subscription ids by `event|resource`, for fan-out on state changes.
    var subscriptionsByResource: [String: Set<String>] = [:]
    /// The composed state document per `event|resource`, built once per change and shared by
    /// every watcher's NOTIFY.
    var stateDocuments: [String: StateBody] = [:]
    /// Live publications by `event|resource` and entity-tag, with parsed PIDF, mirroring the
    /// store so that composing state needs neither a store read nor a thread hop.
    var publicationIndex: [String: [String: IndexedPublication]] = [:]
    /// Entity-tags of PUBLISHes being written.
    var claimedEntityTags: Set<String> = []
    /// Publication changes waiting for the next store call, with what to do once durable.
    var unsavedPublications: [(PublicationChange, (Result<Void, any Error>) -> Void)] = []
    var publicationFlushScheduled = false
    /// Subscription changes not yet written: the latest record per id, or nil for a removal.
    var unsavedSubscriptions: [String: SubscriptionRecord?] = [:]
    let authenticator = DigestAuthenticator(secret: (0..<32).map { _ in UInt8.random(in: 0...255) })
    var nonceCounts: [String: UInt32] = [:]
    lazy var timerWheel: TimerWheel = {
        let wheel = TimerWheel(now: self.now())
        wheel.clientTransactionTimerFired = { [unowned self] branch, timer in self.clientTransactionTimerFired(timer, branch: branch) }
        return wheel
    }()
    var timerDriverStarted = false
    var driverTicks = 0
    var authenticationFailures: [String: AuthenticationFailures] = [:]
    var subscriptionFlushRunning = false
    /// Set by `stopNotifying` at shutdown.
    var shuttingDown = false
    var publicationSequence: Int64 = 0
    var presencePolicy = PresencePolicyCache()
    public internal(set) var statistics = EngineStatistics()
    let metrics = EngineMetrics()
    lazy var recordRouteToken = RecordRouteToken(secret: self.configuration.routeSecret)

    public init(
        configuration: EngineConfiguration, loop: any EventLoop, sink: any OutboundSink, store: any HeraldStore, logger: Logger,
        now: @escaping @Sendable () -> NIODeadline = { NIODeadline.now() },
        wallClock: @escaping @Sendable () -> Int64 = { Int64(Date.timeIntervalSinceReferenceDate + 978_307_200) }
    ) {
        self.configuration = configuration
        self.identity = ServerIdentity(domains: configuration.domains, addresses: configuration.listenAddresses)
        self.loop = loop
        self.sink = sink
        self.store = store
        self.logger = logger
        self.now = now
        self.wallClock = wallClock
        self.makeTransportHeaders()
    }

    /// Runs `body` on the engine loop: at once when called there (the SQLite store completes
    /// its writes on this loop when it shares it), else queued to it.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if self.loop.inEventLoop {
            body()
        } else {
            self.loop.execute(body)
        }
    }

    private func makeTransportHeaders() {
        for transport in SIPTransportKind.allCases {
            self.contactHeaders[transport] = self.makeContactHeader(for: transport)
            self.viaPrefixes[transport] = self.makeViaPrefix(for: transport)
        }
    }

    /// Records the addresses the listeners actually bound (port 0 resolved), for Via and Contact.
    public func setSentBy(_ sentBy: [SIPTransportKind: String]) {
        self.loop.preconditionInEventLoop()
        self.configuration.sentBy = sentBy
        self.makeTransportHeaders()
        let ports = sentBy.values.compactMap { value in value.split(separator: ":").last.flatMap { Int($0) } }
        self.identity = ServerIdentity(domains: self.configuration.domains, addresses: self.configuration.listenAddresses, ports: ports)
    }

    /// Waits, at most `timeout`, until every subscription and publication change the engine
    /// holds has reached the store: a graceful shutdown then keeps every subscription it
    /// answered (their writes follow the 200), not only those already written.
    /// Called before the transports close at shutdown: from then on a NOTIFY that cannot be
    /// sent (its transport is gone) ends nothing, so the drain below does not store the end of
    /// subscriptions that should continue after the restart.
    public func stopNotifying() async {
        try? await self.loop.submit { self.shuttingDown = true }.get()
    }

    public func drainStoreWrites(timeout: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let idle = (try? await self.loop.submit {
                self.unsavedSubscriptions.isEmpty && !self.subscriptionFlushRunning && self.unsavedPublications.isEmpty
                    && !self.publicationFlushScheduled
            }.get()) ?? true
            if idle { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        self.logger.warning("store writes still pending at shutdown")
    }

    public var activeTransactionCount: Int {
        self.loop.preconditionInEventLoop()
        return self.transactions.count
    }

    var instant: SIPInstant { SIPInstant(nanoseconds: Int64(self.now().uptimeNanoseconds)) }

    // MARK: Inbound

    public func receive(_ packet: InboundPacket) {
        if self.loop.inEventLoop {
            self.handle(packet)
        } else {
            self.loop.execute { self.handle(packet) }
        }
    }

    /// Datagrams read together arrive together: one hop to the engine's loop for all.
    public func receive(batch: [InboundPacket], handled: @escaping @Sendable () -> Void) {
        if self.loop.inEventLoop {
            for packet in batch { self.handle(packet) }
            handled()
        } else {
            self.loop.execute {
                for packet in batch { self.handle(packet) }
                handled()
            }
        }
    }

    func handle(_ packet: InboundPacket) {
        self.statistics.packetsReceived += 1
        let parsed = packet.parsed ?? Result { () throws(SIPParseFailure) in try SIPMessageParser.parse(packet.bytes, limits: self.configuration.limits) }
        let message: SIPMessage
        switch parsed {
        case .success(let parsedMessage):
            message = parsedMessage
        case .failure(let failure):
            self.handleParseFailure(failure, packet: packet)
            return
        }
        switch message {
        case .response(let response):
            self.handleResponse(response)
        case .request(let request):
            self.handle(request, packet: packet)
        }
    }

    private func handleParseFailure(_ failure: SIPParseFailure, packet: InboundPacket) {
        self.statistics.malformedMessages += 1
        guard !failure.isResponse, let request = failure.partialRequest else {
            self.logger.info("dropping unparseable message", metadata: ["source": "\(packet.source)", "problem": "\(failure.error.reason)"])
            return
        }
        self.rejectStatelessly(request, error: failure.error, packet: packet)
    }

    /// Answers a request that cannot be processed, when an answer can be routed: it needs a
    /// parseable topmost Via and the headers a response copies (RFC 3261 §8.2.6.2).
    private func rejectStatelessly(_ request: SIPRequest, error: SIPParseError, packet: InboundPacket) {
        let isAck = request.method == .ack || ((try? request.cseq())?.method == .ack)
        // Answer even without From, To or Call-ID (RFC 4475 §3.3.1): the client matches the
        // response by its Via branch and CSeq, which the response copies.
        let required: [KnownHeader] = [.via, .cseq]
        guard !isAck, required.allSatisfy({ header in request.headers.fields.contains { $0.known == header } }),
            var via = try? request.topVia()
        else {
            self.logger.info("dropping malformed request that cannot be answered", metadata: ["source": "\(packet.source)", "problem": "\(error.reason)"])
            return
        }
        var stamped = request
        if let updated = ResponseRouting.stamp(via, sourceIP: packet.source.ipAddress ?? "", sourcePort: packet.source.port ?? 0) {
            via = updated
            try? stamped.replaceTopVia(with: updated)
        }
        let reason = error.statusCode == 400 ? error.reason : SIPStatus.defaultReason(for: error.statusCode)
        let response = SIPResponse(
            answering: stamped, statusCode: error.statusCode, reasonPhrase: reason, toTag: Self.makeTag(),
            headers: [(SIPHeaderName(.server), self.configuration.serverName)])
        guard let destination = self.responseDestination(via: via, packet: packet) else { return }
        self.logger.info("rejecting malformed request", metadata: ["source": "\(packet.source)", "status": "\(error.statusCode)", "problem": "\(error.reason)"])
        self.sink.send(SIPSerializer.serialize(response), to: destination, onFailure: nil)
    }

    func responseDestination(via: Via, packet: InboundPacket) -> SIPDestination? {
        let target = ResponseRouting.target(
            for: via, sourceIP: packet.source.ipAddress ?? "", sourcePort: packet.source.port ?? 0, reliable: packet.transport.isReliable)
        var host = target.host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let address = try? SocketAddress(ipAddress: host, port: target.port) else {
            self.logger.info("no route for response", metadata: ["target": "\(target.host):\(target.port)"])
            return nil
        }
        return SIPDestination(transport: packet.transport, address: address, connection: target.preferSameConnection ? packet.connection : nil)
    }

    private func handle(_ incoming: SIPRequest, packet: InboundPacket) {
        self.statistics.requestsReceived += 1
        self.metrics.requestReceived(incoming.method)
        var request = incoming
        // §16.4: a strict router before us put our Record-Route URI (it has `lr`) in the
        // Request-URI; the real target is the last Route value.
        // Our URI goes back on top of the Route set, so the request is handled exactly like its
        // loose-routed equivalent.
        if let uri = try? request.requestURI(), uri.parameter("lr") != nil, let callID = request.callID,
            self.recordRouteToken.isValid(uri, callID: callID), StrictRouting.restoreRequestURI(&request, identity: self.identity)
        {
            request.headers.prepend(SIPHeaderName(.route), "<\(uri)>")
        }
        var essentials: RequestEssentials
        do {
            essentials = try request.validate()
        } catch {
            self.statistics.malformedMessages += 1
            self.rejectStatelessly(request, error: error, packet: packet)
            return
        }
        if let stamped = ResponseRouting.stamp(essentials.topVia, sourceIP: packet.source.ipAddress ?? "", sourcePort: packet.source.port ?? 0) {
            try? request.replaceTopVia(with: stamped)
            essentials.vias[0] = stamped
        }
        if request.method == .ack {
            self.handleAck(request, essentials: essentials, packet: packet)
            return
        }
        let key = ServerTransactionKey(essentials: essentials, method: request.method)
        if let existing = self.transactions[key] {
            self.statistics.retransmissionsAbsorbed += 1
            self.apply(self.retransmitted(existing), to: existing)
            return
        }
        guard let destination = self.responseDestination(via: essentials.topVia, packet: packet) else { return }
        if !packet.transport.isReliable, let response = self.completedResponses.response(for: key, now: self.instant.nanosecondsSinceStart) {
            // A retransmission of a request answered less than Timer J ago: same answer again.
            self.statistics.retransmissionsAbsorbed += 1
            self.sink.send(response, to: destination, onFailure: nil)
            return
        }
        let mergeKey = MergedRequestKey(essentials: essentials)
        let entry = self.openTransaction(key: key, request: request, essentials: essentials, destination: destination, mergeKey: mergeKey)
        if let mergeKey, let other = self.mergedRequests[mergeKey], other != key,
            let original = self.transactions[other], original.awaitsFinalResponse
        {
            // RFC 3261 §8.2.2.2: the same request arrived along another path while the first copy
            // is still being processed ("ongoing"); once answered, a late copy is a new request.
            self.respond(entry, status: 482, reason: "Loop Detected: merged request")
            return
        }
        if let mergeKey { self.mergedRequests[mergeKey] = key }
        if request.method == .cancel {
            self.handleCancel(entry)
            return
        }
        if request.method == .subscribe, essentials.to.tag != nil {
            self.authenticated(entry) { self.subscribeInDialog(entry) }
            return
        }
        self.dispatch(entry)
    }

    private func retransmitted(_ entry: ServerTransactionEntry) -> [ServerTransactionAction] {
        switch entry.machine {
        case .invite(var machine):
            defer { entry.machine = .invite(machine) }
            return machine.requestRetransmitted(now: self.instant).map(ServerTransactionAction.init)
        case .nonInvite(var machine):
            defer { entry.machine = .nonInvite(machine) }
            return machine.requestRetransmitted(now: self.instant).map(ServerTransactionAction.init)
        }
    }

    private func openTransaction(
        key: ServerTransactionKey, request: SIPRequest, essentials: RequestEssentials, destination: SIPDestination, mergeKey: MergedRequestKey?
    ) -> ServerTransactionEntry {
        let reliable = destination.transport.isReliable
        let entry: ServerTransactionEntry
        var startActions: [ServerTransactionAction]
        if request.method == .invite {
            var machine = ServerInviteTransaction(reliableTransport: reliable, settings: self.configuration.timers)
            startActions = machine.start(now: self.instant).map(ServerTransactionAction.init)
            entry = ServerTransactionEntry(
                key: key, machine: .invite(machine), request: request, essentials: essentials, destination: destination,
                toTag: Self.makeTag(), mergeKey: mergeKey)
        } else {
            // Retransmissions after the final response are answered from `completedResponses`.
            var machine = ServerNonInviteTransaction(
                reliableTransport: reliable, settings: self.configuration.timers, absorbsRequestRetransmissions: false)
            startActions = machine.start(now: self.instant).map(ServerTransactionAction.init)
            entry = ServerTransactionEntry(
                key: key, machine: .nonInvite(machine), request: request, essentials: essentials, destination: destination,
                toTag: Self.makeTag(), mergeKey: mergeKey)
        }
        self.transactions[key] = entry
        self.apply(startActions, to: entry)
        return entry
    }

    // MARK: ACK and CANCEL

    private func handleAck(_ request: SIPRequest, essentials: RequestEssentials, packet: InboundPacket) {
        let key = ServerTransactionKey.inviteKey(for: essentials)
        guard let entry = self.transactions[key], case .invite(var machine) = entry.machine else {
            // An ACK for a 2xx travels end to end (§13.2.2.4): route it on if it is for someone
            // else, statelessly (§16.11); otherwise it ends nothing here.
            if case .forwardToNextHop(let next) = CoreRequestRules.disposition(
                for: request, essentials: essentials, identity: self.identity, capabilities: self.configuration.capabilities,
            routeTable: self.configuration.routes)
            {
                guard self.recordRouteToken.routesThroughUs(request, callID: essentials.callID, identity: self.identity)
                    || self.configuration.trustedHosts.contains(packet.source.ipAddress?.lowercased() ?? "")
                else { return }
                self.forwardStatelessly(request, essentials: essentials, to: next)
            }
            return
        }
        let actions = machine.ackReceived(now: self.instant).map(ServerTransactionAction.init)
        entry.machine = .invite(machine)
        self.apply(actions, to: entry)
    }

    /// RFC 3261 §9.2: a CANCEL matching a pending INVITE gets 200 and the INVITE 487;
    /// otherwise 481.
    private func handleCancel(_ entry: ServerTransactionEntry) {
        let inviteKey = ServerTransactionKey.inviteKey(for: entry.essentials)
        guard let invite = self.transactions[inviteKey] else {
            self.respond(entry, status: 481)
            return
        }
        self.respond(entry, status: 200)
        if invite.awaitsFinalResponse, !self.cancelProxiedInvite(invite) {
            self.respond(invite, status: 487)
        }
    }

    // MARK: Dispatch

    private func dispatch(_ entry: ServerTransactionEntry) {
        let disposition = CoreRequestRules.disposition(
            for: entry.request, essentials: entry.essentials, identity: self.identity, capabilities: self.configuration.capabilities,
            routeTable: self.configuration.routes)
        switch disposition {
        case .reject(let status, let reason, let headers):
            self.respond(entry, status: status, reason: reason, headers: headers.map { (SIPHeaderName($0.name), $0.value) })
        case .answerOptions:
            self.respond(entry, status: 200, headers: self.capabilityHeaders())
        case .register:
            self.authenticated(entry) { self.register(entry) }
        case .routeToUser(let uri) where entry.request.method == .subscribe:
            self.authenticated(entry) { self.subscribe(entry, resource: uri) }
        case .routeToUser(let uri) where entry.request.method == .publish:
            self.authenticated(entry) { self.publish(entry, resource: uri) }
        case .routeToUser(let uri):
            self.authenticated(entry) { self.routeToUser(entry, uri: uri) }
        case .absorbAck:
            break
        case .forwardToNextHop(let next):
            if self.recordRouteToken.routesThroughUs(entry.request, callID: entry.essentials.callID, identity: self.identity) {
                self.forwardToNextHop(entry, next: next)
            } else {
                // A Route naming Herald that Herald did not record-route: only senders Herald
                // vouches for may have it relayed.
                self.relay(entry, nextHop: next)
            }
        case .relay(let nextHop):
            self.relay(entry, nextHop: nextHop)
        }
    }

    func capabilityHeaders() -> [(SIPHeaderName, String)] {
        let capabilities = self.configuration.capabilities
        var headers: [(SIPHeaderName, String)] = [
            (SIPHeaderName(.allow), capabilities.allowHeader),
            (SIPHeaderName(.accept), capabilities.accept.joined(separator: ", ")),
            (SIPHeaderName(.supported), capabilities.supported.joined(separator: ", ")),
        ]
        if !capabilities.allowEvents.isEmpty {
            headers.append((SIPHeaderName(.allowEvents), capabilities.allowEvents.joined(separator: ", ")))
        }
        return headers
    }

    /// Requests for users of a served domain (RFC 3261 §16.5): forwarded to the user's
    /// registered contacts. A user with no reachable contact gets 480 and an unknown user 404
    /// (§21.4.18, §21.4.5); calls follow the user's forwarding rules first.
    private func routeToUser(_ entry: ServerTransactionEntry, uri: SIPURI) {
        self.lookUpCallee(uri, wantsForwarding: entry.request.method == .invite, for: entry) { callee in
            if entry.request.method == .invite {
                self.proxyCall(entry, request: entry.request, callee: callee, diversions: 0)
            } else if !callee.bindings.isEmpty {
                self.proxyNonInvite(entry, bindings: callee.bindings)
            } else {
                self.respond(entry, status: callee.known ? 480 : 404)
            }
        }
    }

    /// A user's live bindings, whether the user exists, and (for calls) her forwarding rules,
    /// read in one store task; a store failure is answered with 500.
    func lookUpCallee(
        _ uri: SIPURI, wantsForwarding: Bool, for entry: ServerTransactionEntry, then proceed: @escaping @Sendable (Callee) -> Void
    ) {
        let store = self.store
        let aor = uri.addressOfRecord
        let username = uri.unescapedUser ?? ""
        let domain = uri.hostKey
        let now = self.wallClock()
        self.readStore(for: entry, {
            let bindings = try await store.bindings(addressOfRecord: aor).filter { $0.expiresAt > now }
            var known = !bindings.isEmpty
            if !known { known = try await store.user(username: username, domain: domain) != nil }
            let forwarding = wantsForwarding && known ? try await store.forwardingRules(username: username, domain: domain) : nil
            return Callee(bindings: bindings, known: known, forwarding: forwarding)
        }, then: proceed)
    }

    /// Runs `read` against the store and gives its result to `proceed` on the engine loop; a
    /// store failure is answered with 500 and Retry-After (RFC 3261 §21.5.1: the client may
    /// try again), and `proceed` is not called.
    func readStore<Value: Sendable>(
        for entry: ServerTransactionEntry, _ read: @escaping @Sendable () async throws -> Value, then proceed: @escaping @Sendable (Value) -> Void
    ) {
        self.loop.makeFutureWithTask(read).whenComplete { result in
            switch result {
            case .success(let value):
                proceed(value)
            case .failure(let error):
                self.respondStoreUnavailable(entry, error: error)
            }
        }
    }

    func respondStoreUnavailable(_ entry: ServerTransactionEntry, error: any Error) {
        self.logger.error("store failure", metadata: ["method": "\(entry.request.method.rawValue)", "error": "\(error)"])
        self.respond(entry, status: 500, reason: "Server Internal Error: store unavailable", headers: [(SIPHeaderName(.retryAfter), "5")])
    }

    // MARK: Responses

    func respond(_ entry: ServerTransactionEntry, status: Int, reason: String? = nil, headers: [(SIPHeaderName, String)] = []) {
        let response = SIPResponse(
            answering: entry.request, statusCode: status, reasonPhrase: reason, toTag: entry.toTag,
            headers: headers + [(SIPHeaderName(.server), self.configuration.serverName)])
        self.send(SIPSerializer.serialize(response), statusCode: status, through: entry)
    }

    /// Sends a response through its server transaction, which keeps it for retransmissions.
    func send(_ bytes: [UInt8], statusCode status: Int, through entry: ServerTransactionEntry) {
        self.loop.preconditionInEventLoop()
        // RFC 3261 §17.2.1: after a final response, nothing more goes out through the
        // transaction (a late provisional would replace the final one for retransmissions).
        guard entry.awaitsFinalResponse else { return }
        entry.lastResponse = bytes
        let actions: [ServerTransactionAction]
        switch entry.machine {
        case .invite(var machine):
            actions = machine.responseSent(statusCode: status, now: self.instant).map(ServerTransactionAction.init)
            entry.machine = .invite(machine)
        case .nonInvite(var machine):
            actions = machine.responseSent(statusCode: status, now: self.instant).map(ServerTransactionAction.init)
            entry.machine = .nonInvite(machine)
            if status >= 200, !entry.destination.transport.isReliable {
                // RFC 3261 §17.2.2: retransmissions get this response again until Timer J; the
                // compact cache keeps it, and the transaction object ends with this answer.
                let timerJ = self.instant + self.configuration.timers.timerJ
                self.completedResponses.insert(key: entry.key, response: bytes, expiresAt: timerJ.nanosecondsSinceStart)
            }
        }
        self.statistics.responsesSent += 1
        self.metrics.responseSent(status: status)
        self.apply(actions, to: entry)
    }

    func apply(_ actions: [ServerTransactionAction], to entry: ServerTransactionEntry) {
        for action in actions {
            switch action {
            case .sendTrying:
                let trying = SIPResponse(answering: entry.request, statusCode: 100, toTag: nil)
                let bytes = SIPSerializer.serialize(trying)
                entry.lastResponse = bytes
                self.sink.send(bytes, to: entry.destination, onFailure: nil)
            case .sendResponse, .resendLastResponse:
                if let bytes = entry.lastResponse {
                    self.sink.send(bytes, to: entry.destination, onFailure: self.transportFailure(for: entry))
                }
            case .scheduleTimer(let timer, let at):
                let key = entry.key
                self.schedule(at: at) { [weak self] in self?.timerFired(timer, key: key) }
            case .cancelTimer:
                // Not needed: a timer that no longer applies is ignored when it fires.
                break
            case .report(let event):
                self.logger.debug("server transaction event", metadata: ["transaction": "\(entry.key)", "event": "\(event)"])
            case .terminate:
                self.terminate(entry)
            }
        }
    }

    private func transportFailure(for entry: ServerTransactionEntry) -> @Sendable (any Error) -> Void {
        let key = entry.key
        return { [weak self] error in
            guard let self else { return }
            self.loop.execute {
                guard let entry = self.transactions[key] else { return }
                self.logger.info("response not delivered", metadata: ["transaction": "\(key)", "error": "\(error)"])
                let actions: [ServerTransactionAction]
                switch entry.machine {
                case .invite(var machine):
                    actions = machine.transportFailed(now: self.instant).map(ServerTransactionAction.init)
                    entry.machine = .invite(machine)
                case .nonInvite(var machine):
                    actions = machine.transportFailed(now: self.instant).map(ServerTransactionAction.init)
                    entry.machine = .nonInvite(machine)
                }
                self.apply(actions, to: entry)
            }
        }
    }

    private func timerFired(_ timer: TransactionTimer, key: ServerTransactionKey) {
        guard let entry = self.transactions[key] else { return }
        let actions: [ServerTransactionAction]
        switch entry.machine {
        case .invite(var machine):
            actions = machine.timerFired(timer, now: self.instant).map(ServerTransactionAction.init)
            entry.machine = .invite(machine)
        case .nonInvite(var machine):
            actions = machine.timerFired(timer, now: self.instant).map(ServerTransactionAction.init)
            entry.machine = .nonInvite(machine)
        }
        self.apply(actions, to: entry)
    }

    private func terminate(_ entry: ServerTransactionEntry) {
        self.transactions[entry.key] = nil
        if let mergeKey = entry.mergeKey, self.mergedRequests[mergeKey] == entry.key {
            self.mergedRequests[mergeKey] = nil
        }
    }

    /// Arms a timer on the engine's wheel (see `TimerWheel`), starting its 10 ms driver once.
    func schedule(at instant: SIPInstant, _ action: @escaping () -> Void) {
        self.loop.preconditionInEventLoop()
        self.timerWheel.schedule(at: NIODeadline.uptimeNanoseconds(UInt64(max(0, instant.nanosecondsSinceStart))), action)
        self.startTimerDriver()
    }

    /// A client non-INVITE transaction's timer, without a closure (see `TimerWheel.Entry`).
    func scheduleClientTransactionTimer(_ timer: TransactionTimer, branch: String, at instant: SIPInstant) {
        self.loop.preconditionInEventLoop()
        self.timerWheel.scheduleClientTransactionTimer(
            timer, branch: branch, at: NIODeadline.uptimeNanoseconds(UInt64(max(0, instant.nanosecondsSinceStart))))
        self.startTimerDriver()
    }

    private func startTimerDriver() {
        guard !self.timerDriverStarted else { return }
        self.timerDriverStarted = true
        self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { [weak self] _ in
            guard let self else { return }
            self.timerWheel.advance(to: self.now())
            self.completedResponses.expire(now: self.instant.nanosecondsSinceStart)
            self.driverTicks &+= 1
            if self.driverTicks % 3000 == 0 { self.compactTables() }
        }
    }

    /// Swift dictionaries keep their capacity when emptied: after a burst (Timer J holds each
    /// UDP transaction for 32 s) the tables would pin their peak size and the pages around
    /// them. Every 30 s, tables at under a quarter of their capacity are rebuilt at their size.
    func compactTables() {
        self.transactions.releaseUnusedCapacity()
        self.mergedRequests.releaseUnusedCapacity()
        self.clientTransactions.releaseUnusedCapacity()
        self.inviteClientTransactions.releaseUnusedCapacity()
        self.subscriptions.releaseUnusedCapacity()
        self.subscriptionsByResource.releaseUnusedCapacity()
        self.stateDocuments.releaseUnusedCapacity()
        self.nonceCounts.releaseUnusedCapacity()
        self.authenticationFailures.releaseUnusedCapacity()
        self.timerWheel.compact()
        self.completedResponses.compact()
    }


    /// A random token for tags, branches and entity-tags (RFC 3261 §19.3 asks for at least 32
    /// random bits): 64 bits from a generator seeded from the system CSPRNG, in base 32, so a
    /// tag costs no system call.
    static func makeTag() -> String {
        let value = TagGenerator.shared.withLockedValue { $0.next() }
        // 13 characters: a small string, stored inline without an allocation.
        return String(unsafeUninitializedCapacity: 13) { TagGenerator.base32(value, into: $0, at: 0) }
    }

    /// A new client-transaction branch (RFC 3261 §8.1.1.7): the magic cookie and 128 random
    /// bits, drawn under one lock.
    static func makeBranch() -> String {
        let (high, low) = TagGenerator.shared.withLockedValue { ($0.next(), $0.next()) }
        let cookie = Via.magicCookie.utf8
        // Written in place: one allocation, no division (a fan-out makes one per NOTIFY).
        return String(unsafeUninitializedCapacity: cookie.count + 26) { output in
            var end = 0
            for byte in cookie {
                output[end] = byte
                end += 1
            }
            end = TagGenerator.base32(high, into: output, at: end)
            return TagGenerator.base32(low, into: output, at: end)
        }
    }
}

struct IndexedPublication {
    var record: PublicationRecord
    var document: PIDFDocument?
}

/// Random 64-bit values from the system CSPRNG, fetched 4 KiB at a time so that a tag does not
/// cost a system call and stays unpredictable (tags and entity-tags must not be guessable).
struct TagGenerator {
    static let shared = NIOLockedValueBox(TagGenerator())
    private var buffer = [UInt64](repeating: 0, count: 512)
    private var position = 512

    /// Writes `value` as 13 base-32 digits (0-9, a-v; tokens per RFC 3261 §25.1) at `start`,
    /// returning where they end.
    static func base32(_ value: UInt64, into output: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var value = value
        for index in (start..<start + 13).reversed() {
            let digit = UInt8(truncatingIfNeeded: value & 31)
            output[index] = digit < 10 ? 48 + digit : 87 + digit
            value >>= 5
        }
        return start + 13
    }

    mutating func next() -> UInt64 {
        if self.position == self.buffer.count {
            var generator = SystemRandomNumberGenerator()
            self.buffer.withUnsafeMutableBytes { bytes in
                var filled = 0
                let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
                if descriptor >= 0, let base = bytes.baseAddress {
                    while filled < bytes.count {
                        let result = read(descriptor, base + filled, bytes.count - filled)
                        if result <= 0 { break }
                        filled += result
                    }
                    close(descriptor)
                }
                if filled < bytes.count {
                    for index in stride(from: 0, to: bytes.count, by: 8) { bytes.storeBytes(of: generator.next(), toByteOffset: index, as: UInt64.self) }
                }
            }
            self.position = 0
        }
        defer { self.position += 1 }
        return self.buffer[self.position]
    }
}

/// Counters for logs, tests and (later) metrics.
public struct EngineStatistics: Sendable, Equatable {
    public var packetsReceived = 0
    public var requestsReceived = 0
    public var responsesSent = 0
    public var responsesDropped = 0
    public var malformedMessages = 0
    public var retransmissionsAbsorbed = 0
    public var notifiesSent = 0
    public var notifiesFailed = 0
    public var publications = 0
}

extension Dictionary {
    /// Rebuilds the table at its size when it holds under a quarter of its capacity (and the
    /// capacity is worth giving back): Swift dictionaries never shrink on their own.
    mutating func releaseUnusedCapacity() {
        guard self.capacity > 1024, self.count * 4 < self.capacity else { return }
        var rebuilt = [Key: Value](minimumCapacity: self.count)
        for (key, value) in self { rebuilt[key] = value }
        self = rebuilt
    }
}
