import Foundation
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPProtocol

extension SIPEngine {
    /// Builds and sends one NOTIFY in the subscription's dialog (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1).
    /// The body is computed when the machine asks for the NOTIFY, so it carries the latest state;
    /// in a dialog shared with another subscription it may then wait behind that one's NOTIFY
    /// (state that changes meanwhile follows in the next NOTIFY).
    func sendNotify(_ subscription: SubscriptionEntry, state: SubscriptionStateHeader, withState: Bool) {
        let id = subscription.id
        switch self.stateBody(for: subscription, withState: withState) {
        case .ready(let body):
            self.emitNotify(subscription, state: state, withState: withState, body: body)
        case .later(let future):
            future.whenComplete { result in
                guard self.subscriptions[id] != nil || state.status == .terminated else { return }
                switch result {
                case .success(let body):
                    self.emitNotify(subscription, state: state, withState: withState, body: body)
                case .failure(let error):
                    self.logger.error("cannot build NOTIFY body", metadata: ["error": "\(error)"])
                    self.emitNotify(subscription, state: state, withState: withState, body: nil)
                }
            }
        }
    }

    /// Sends the NOTIFY with the dialog's next CSeq, or queues it behind the one of another
    /// subscription in the dialog that is still in flight (`SubscriptionDialog.notifyInFlight`).
    private func emitNotify(_ subscription: SubscriptionEntry, state: SubscriptionStateHeader, withState: Bool, body: (String, [UInt8])?) {
        let dialog = subscription.dialog
        if dialog.notifyInFlight {
            dialog.queuedNotifies.append { [weak self] in
                guard let self, self.subscriptions[subscription.id] === subscription || state.status == .terminated else { return }
                self.emitNotify(subscription, state: state, withState: withState, body: body)
            }
            return
        }
        dialog.notifyInFlight = true
        let (cseq, reservationGrew) = dialog.takeLocalCSeq(reservationBlock: Self.cseqReservation)
        if reservationGrew { self.persist(subscription) }
        var destination = subscription.destination
        var request = self.notifyBytes(subscription, state: state, cseq: cseq, body: body, via: destination.transport)
        if destination.transport == .udp, request.bytes.count > Self.maxDatagramRequest, self.configuration.sentBy[.tcp] != nil {
            // No datagram carries it (a resource list's full state can be that large): it goes
            // over TCP, to the same address, with the Via saying so (RFC 3261 §18.1.1 moves far
            // smaller requests to TCP; Herald keeps UDP for all a datagram can carry, as most
            // subscribers on UDP listen on UDP only). The dialog's Contact and route are
            // unchanged. (Without a TCP listener there is no Via to give: it stays on UDP, and
            // fails.)
            destination = SIPDestination(transport: .tcp, address: destination.address, connection: nil)
            request = self.notifyBytes(subscription, state: state, cseq: cseq, body: body, via: .tcp)
        }
        self.statistics.notifiesSent += 1
        if withState, let since = subscription.stateChangedAt {
            subscription.stateChangedAt = nil
            self.metrics.publishToNotify.recordNanoseconds(Int64(clamping: self.now().uptimeNanoseconds &- since.uptimeNanoseconds))
        }
        self.sendRequest(bytes: request.bytes, method: .notify, branch: request.branch, to: destination) { [weak self] response in
            // (At shutdown a NOTIFY fails because its transport closed: the subscription goes on.)
            guard let self, !self.shuttingDown else { return }
            let failed = response.map { $0.statusCode >= 300 } ?? true
            // Only a failure's Retry-After counts (RFC 6665 §4.2.2): a 200 is not searched for one.
            let retryAfter = failed ? response?.headers[SIPHeaderName(.retryAfter)].flatMap { Int($0.prefix { $0.isNumber }) } : nil
            if failed {
                self.statistics.notifiesFailed += 1
                // What it said as partial state may not have arrived: the next NOTIFY (a retry
                // included) says it all (RFC 3858 §4.3, RFC 4662 §4.5).
                if withState { subscription.needsFullState = true }
            }
            self.metrics.notifyCompleted(status: response?.statusCode)
            // The dialog's other subscriptions end first when the answer says the dialog is
            // gone, so that nothing queued in it is sent into it.
            if NotifierSubscription.failureEndsDialog(statusCode: response?.statusCode) { self.endDialog(dialog, besides: subscription) }
            self.dialogNotifyCompleted(dialog)
            let wasTerminated = subscription.machine.status == .terminated
            let actions = subscription.machine.notifyCompleted(statusCode: response?.statusCode, retryAfter: retryAfter, now: self.instant)
            self.apply(actions, to: subscription, transaction: nil)
            if !wasTerminated, subscription.machine.status == .terminated {
                // Ended by the failure: for the presentity, a watcher that stopped answering is
                // like one that stopped refreshing (RFC 3857 has no event of its own for it).
                subscription.lastWatcherEvent = .timeout
                self.watcherChanged(subscription)
            }
        }
    }

    /// The largest request sent as one UDP datagram (an IPv4 datagram's payload is at most
    /// 65,507 bytes); anything larger goes over TCP.
    static let maxDatagramRequest = 65_000

    /// A NOTIFY's answer said the dialog itself is gone (RFC 5057 §5.1): its other
    /// subscriptions end too, without NOTIFYs, and nothing queued in it is sent.
    private func endDialog(_ dialog: SubscriptionDialog, besides failed: SubscriptionEntry) {
        dialog.queuedNotifies.removeAll()
        for id in dialog.subscriptionIDs {
            guard let other = self.subscriptions[id], other !== failed else { continue }
            let wasTerminated = other.machine.status == .terminated
            // (One that was about to wait goes on waiting, reported by `.keepWaiting`.)
            self.apply(other.machine.dialogEnded(now: self.instant), to: other, transaction: nil)
            if !wasTerminated {
                other.lastWatcherEvent = .timeout
                self.watcherChanged(other)
            }
        }
    }

    /// The dialog's NOTIFY in flight completed: the next one queued in it may leave.
    private func dialogNotifyCompleted(_ dialog: SubscriptionDialog) {
        dialog.notifyInFlight = false
        while !dialog.notifyInFlight, !dialog.queuedNotifies.isEmpty {
            dialog.queuedNotifies.removeFirst()()
        }
    }

    /// The NOTIFY's bytes, written directly: a fan-out builds thousands a second, and going
    /// through header strings, a `SIPRequest` and the serializer cost a tenth of the server's
    /// time. The Request-URI is the remote target (RFC 3261 §12.2.1.1), which was stored from a
    /// parsed URI.
    private func notifyBytes(
        _ subscription: SubscriptionEntry, state: SubscriptionStateHeader, cseq: UInt32, body: (String, [UInt8])?, via viaTransport: SIPTransportKind
    ) -> (bytes: [UInt8], branch: String) {
        let transport = subscription.destination.transport
        let branch = Self.makeBranch()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(700 + (body?.1.count ?? 0))
        func put(_ text: String) {
            var text = text
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
        func put(_ field: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: field) }
        subscription.dialog.withBytes { dialog in
            put("NOTIFY ")
            if dialog.remoteTarget.isEmpty {
                put("sip:" + (subscription.destination.address.ipAddress ?? "127.0.0.1"))
            } else {
                put(dialog.remoteTarget)
            }
            put(" SIP/2.0\r\nVia: ")
            put(self.viaPrefix(for: viaTransport))
            put(branch)
            put(";rport\r\nMax-Forwards: 70\r\n")
            for index in 0..<dialog.routeCount {
                put("Route: ")
                put(dialog.route(index))
                put("\r\n")
            }
            put("From: <")
            put(subscription.resourceURI)
            put(">;tag=")
            put(dialog.localTag)
            put("\r\nTo: ")
            put(dialog.watcherAddress)
            put(";tag=")
            put(dialog.remoteTag)
            put("\r\nCall-ID: ")
            put(dialog.callID)
        }
        put("\r\nCSeq: ")
        put(String(cseq))
        put(" NOTIFY\r\nContact: ")
        put(self.contactHeader(for: transport))
        put("\r\nEvent: ")
        put(subscription.package.name)
        if let eventID = subscription.eventID {
            put(";id=")
            put(eventID)
        }
        put("\r\nSubscription-State: ")
        put(state.description)
        if subscription.package.kind == .resourceList {
            // RFC 4662 §4.5: a list's NOTIFYs need the extension to be understood.
            put("\r\nRequire: eventlist")
        }
        put("\r\nUser-Agent: ")
        put(self.configuration.serverName)
        if let (contentType, _) = body {
            put("\r\nContent-Type: ")
            put(contentType)
        }
        put("\r\nContent-Length: ")
        put(String(body?.1.count ?? 0))
        put("\r\n\r\n")
        if let (_, content) = body { bytes.append(contentsOf: content) }
        return (bytes, branch)
    }

    /// The package's state document for this watcher, or nil for a NOTIFY without body.
    func stateBody(for subscription: SubscriptionEntry, withState: Bool) -> StateBody {
        guard withState else { return .ready(nil) }
        let package = subscription.package
        switch package.kind {
        case .presence:
            if subscription.machine.authorization == .politeBlock || subscription.transformations != nil || subscription.usesCPIMPIDF {
                let document = self.presenceDocument(for: subscription)
                if subscription.usesCPIMPIDF {
                    // A watcher of the drafts before RFC 3863 (seed 003's IMS flow).
                    return .ready((CPIMPIDF.contentType, XMLSerializer.serializedBytes(CPIMPIDF.document(from: document))))
                }
                return .ready((package.notifyContentType, XMLSerializer.serializedBytes(document)))
            }
            return self.sharedStateDocument(event: package.name, resource: subscription.resource) {
                (package.notifyContentType, self.composedPresence(subscription).serialized())
            }
        case .messageSummary:
            return self.sharedStateDocument(event: package.name, resource: subscription.resource) {
                let latest = self.livePublications(event: package.name, resource: subscription.resource).last
                return (package.notifyContentType, latest?.record.body ?? Array(MessageSummary(messagesWaiting: false).text.utf8))
            }
        case .registration:
            let full = subscription.needsFullState || subscription.changedContacts.isEmpty
            subscription.needsFullState = false
            let version = subscription.watcherInfoVersion
            subscription.watcherInfoVersion += 1
            let aor = subscription.resource
            let registrationID = Self.watcherID(aor)
            if !full {
                let contacts = subscription.changedContacts.values.sorted { $0.id < $1.id }
                subscription.changedContacts.removeAll()
                let registration = RegInfoDocument.Registration(
                    aor: aor, id: registrationID, state: contacts.contains { $0.state == .active } ? .active : .terminated, contacts: contacts)
                let document = RegInfoDocument.document(version: version, state: .partial, registrations: [registration])
                return .ready((package.notifyContentType, XMLSerializer.serializedBytes(document)))
            }
            subscription.changedContacts.removeAll()
            let store = self.store
            let now = self.wallClock()
            return .later(self.loop.makeFutureWithTask {
                let bindings = try await store.bindings(addressOfRecord: aor).filter { $0.expiresAt > now }
                let contacts = bindings.map { binding in
                    RegInfoDocument.Contact(
                        id: Self.watcherID(binding.contactURI), uri: binding.contactURI, state: .active, event: .registered,
                        expires: Int(binding.expiresAt - now), callID: binding.callID, cseq: binding.cseq)
                }
                let registration = RegInfoDocument.Registration(
                    aor: aor, id: registrationID, state: contacts.isEmpty ? .`init` : .active, contacts: contacts)
                let document = RegInfoDocument.document(version: version, state: .full, registrations: [registration])
                return (package.notifyContentType, XMLSerializer.serializedBytes(document))
            })
        case .resourceList:
            return .ready(self.listBody(for: subscription))
        case .watcherInfo:
            let full = subscription.needsFullState || subscription.changedWatchers.isEmpty
            subscription.needsFullState = false
            let watchers = full ? self.watchers(of: subscription.resource) : Array(subscription.changedWatchers.values).sorted { $0.id < $1.id }
            subscription.changedWatchers.removeAll()
            let document = WatcherInfoDocument.document(
                version: subscription.watcherInfoVersion, state: full ? .full : .partial, resource: subscription.resourceURI,
                package: EventPackage.presence.name, watchers: watchers)
            subscription.watcherInfoVersion += 1
            return .ready((package.notifyContentType, XMLSerializer.serializedBytes(document)))
        }
    }

    /// The presence document this watcher may see, as a tree: a politely blocked one a neutral
    /// document (RFC 5025 §3.2.1), one the rules filter what they provide (§3.3), the rest all.
    private func presenceDocument(for subscription: SubscriptionEntry) -> XMLElement {
        if subscription.machine.authorization == .politeBlock {
            return PresenceFilter.neutralDocument(entity: subscription.resourceURI)
        }
        let composed = self.composedPresence(subscription).element
        guard let transformations = subscription.transformations else { return composed }
        return PresenceFilter.apply(transformations, to: composed)
    }

    /// Every live publication of the presentity, over her permanent state from
    /// pidf-manipulation (RFC 4827 §1: published state is combined with it; a later
    /// publication wins for the same component id).
    func composedPresence(_ subscription: SubscriptionEntry) -> PIDFDocument {
        self.composedPresence(resource: subscription.resource, entity: subscription.resourceURI)
    }

    func composedPresence(resource: String, entity: String) -> PIDFDocument {
        var sources = self.livePublications(event: EventPackage.presence.name, resource: resource).compactMap { publication in
            publication.document.map { PresenceComposer.Source(document: $0, sequence: publication.record.sequence) }
        }
        if let permanent = self.presencePolicy.permanentStateByOwner[resource] {
            sources.insert(PresenceComposer.Source(document: permanent, sequence: Int64.min), at: 0)
        }
        return PresenceComposer.compose(entity: entity, sources: sources)
    }

    /// The cached document for `event|resource`, or a new one from `build`.
    func sharedStateDocument(event: String, resource: String, _ build: () -> (String, [UInt8])?) -> StateBody {
        let key = Self.resourceKey(event, resource)
        if let cached = self.stateDocuments[key] { return cached }
        let body = StateBody.ready(build())
        self.stateDocuments[key] = body
        return body
    }

    // MARK: Watcher information (RFC 3857)

    func watchers(of resource: String) -> [WatcherInfoDocument.Watcher] {
        let ids = self.subscriptionsByResource[Self.resourceKey(EventPackage.presence.name, resource)] ?? []
        // With the back-end subscriptions of the lists that hold the resource (RFC 4662 §4.4).
        return (ids.compactMap { self.subscriptions[$0].map(self.watcherEntry) } + self.backEndWatchers(of: resource)).sorted { $0.id < $1.id }
    }

    func watcherEntry(_ subscription: SubscriptionEntry) -> WatcherInfoDocument.Watcher {
        let status: WatcherInfoDocument.Status
        switch subscription.machine.status {
        case .active: status = .active
        case .pending: status = .pending
        case .terminated: status = subscription.machine.isWaiting ? .waiting : .terminated
        }
        return self.watcherInfoEntry(subscription, id: Self.watcherID(subscription.id), status: status, event: subscription.lastWatcherEvent)
    }

    /// A winfo `watcher` for a subscription (its own, or a list's back-end one, RFC 3858 §4):
    /// the watcher's URI and display name from the dialog, how long it has been subscribed.
    func watcherInfoEntry(
        _ subscription: SubscriptionEntry, id: String, status: WatcherInfoDocument.Status, event: WatcherInfoDocument.Event
    ) -> WatcherInfoDocument.Watcher {
        let dialog = subscription.dialogFields
        let watcherURI = (try? NameAddress(parsing: dialog.watcherAddress))?.uri.description ?? dialog.watcher
        return WatcherInfoDocument.Watcher(
            id: id, uri: watcherURI, status: status, event: event, displayName: dialog.watcherDisplayName,
            durationSubscribed: Int(max(0, self.wallClock() - subscription.createdAt)))
    }

    /// A short stable id for a watcher's subscription (RFC 3858 `id`).
    static func watcherID(_ subscriptionID: String) -> String {
        String(FNV1a.hash(subscriptionID.utf8) & 0xffff_ffff, radix: 16)
    }

    /// A presence subscription changed status: tell the presentity's winfo subscribers (RFC 3857 §3.6).
    func watcherChanged(_ subscription: SubscriptionEntry) {
        switch subscription.package.kind {
        case .presence:
            self.watcherInfoChanged(resource: subscription.resource, watcher: self.watcherEntry(subscription))
        case .resourceList:
            // The list's back-end subscriptions end with it (they start, change and end one by
            // one through `refreshList` and `reauthorizeListOwners`; a refresh changes none).
            guard subscription.machine.status == .terminated else { return }
            for member in subscription.resourceList?.state.members ?? [] { self.backEndChanged(subscription, member: member.key) }
        case .watcherInfo, .messageSummary, .registration:
            return
        }
    }

    /// A watcher of `resource`'s presence changed: her winfo subscribers learn it (partial state).
    func watcherInfoChanged(resource: String, watcher: WatcherInfoDocument.Watcher) {
        guard let winfoIDs = self.subscriptionsByResource[Self.resourceKey(EventPackage.presenceWatcherInfo.name, resource)] else { return }
        for id in winfoIDs {
            guard let winfo = self.subscriptions[id] else { continue }
            winfo.changedWatchers[watcher.id] = watcher
            self.apply(winfo.machine.stateChanged(now: self.instant), to: winfo, transaction: nil)
        }
    }

    /// Bindings of `aor` changed (RFC 3680 §3.7): every reg subscription learns the changed contacts.
    func registrationChanged(aor: String, contacts: [RegInfoDocument.Contact]) {
        guard !contacts.isEmpty else { return }
        for id in self.subscriptionsByResource[Self.resourceKey(EventPackage.registration.name, aor)] ?? [] {
            guard let subscription = self.subscriptions[id] else { continue }
            for contact in contacts { subscription.changedContacts[contact.id] = contact }
            self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil)
        }
    }

    /// The published state of `resource` changed: notify its watchers.
    func resourceStateChanged(event: String, resource: String) {
        self.stateDocuments[Self.resourceKey(event, resource)] = nil
        if event == EventPackage.presence.name, self.presencePolicy.sphereOwners.contains(resource) {
            // RFC 4745 §7.2: the presentity's sphere is part of her state; rules that name a
            // sphere are evaluated again when it may have changed.
            self.reauthorizeWatchers(of: resource)
        }
        let now = self.now()
        for id in self.subscriptionsByResource[Self.resourceKey(event, resource)] ?? [] {
            guard let subscription = self.subscriptions[id] else { continue }
            if subscription.stateChangedAt == nil { subscription.stateChangedAt = now }
            self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil)
        }
        if event == EventPackage.presence.name { self.listMemberStateChanged(resource) }
    }
}

/// A NOTIFY body: ready now (almost always), or after a store read (a full reg document).
enum StateBody {
    case ready((String, [UInt8])?)
    case later(EventLoopFuture<(String, [UInt8])?>)
}
