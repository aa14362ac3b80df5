import Foundation
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPProtocol

extension SIPEngine {
    // MARK: New subscriptions (RFC 6665 §4.2.1.1)

    /// A SUBSCRIBE that creates a subscription: in a new dialog, or in `dialog` when the
    /// subscriber adds one to a dialog it has (RFC 6665 §4.5.2).
    func subscribe(_ entry: ServerTransactionEntry, resource uri: SIPURI, in dialog: SubscriptionDialog? = nil) {
        let request = entry.request
        guard let (package, eventID) = self.eventPackage(of: request, entry: entry) else { return }
        if package === EventPackage.presence, dialog == nil, let service = self.rlsService(for: uri) {
            self.subscribe(entry, toList: service, uri: uri, eventID: eventID) {
                self.subscribe(entry, package: package, eventID: eventID, uri: uri)
            }
            return
        }
        self.subscribe(entry, package: package, eventID: eventID, uri: uri, in: dialog)
    }

    /// A SUBSCRIBE for a single resource.
    private func subscribe(_ entry: ServerTransactionEntry, package: EventPackage, eventID: String?, uri: SIPURI, in dialog: SubscriptionDialog? = nil) {
        guard let (requested, contact, bodyType) = self.checkSubscribeRequest(
            entry, package: package, offering: [package.notifyContentType] + package.alternativeNotifyContentTypes)
        else { return }
        let resource = uri.addressOfRecord
        let watcher = entry.essentials.from.uri.addressOfRecord
        let isOwner = watcher == resource
        let trustedForReg = package.kind == .registration && self.isTrusted(entry)
        if package.ownerOnly, !isOwner, !trustedForReg {
            self.respond(entry, status: 403, reason: "Forbidden: only \(resource) may subscribe to \(package.name)")
            return
        }
        self.checkResourceExists(uri, for: entry) { exists in
            guard exists else {
                // Like any request for a user this server does not have (RFC 3261 §21.4.5).
                self.respond(entry, status: 404, reason: "Not Found: no user \(resource)")
                return
            }
            self.subscribe(
                entry, package: package, eventID: eventID, uri: uri, contact: contact, requested: requested, isOwner: isOwner,
                trustedForReg: trustedForReg, in: dialog, bodyType: bodyType)
        }
    }

    /// What every new subscription needs of its SUBSCRIBE: an Accept that takes the package's
    /// NOTIFY bodies (else 406 listing `offering`), an expiry not below the minimum (423, RFC
    /// 6665 §4.2.1.1) and a Contact (the remote target). Answers and gives nil when one fails.
    /// Also gives the NOTIFY body type when the Accept takes only one of the package's
    /// alternatives (nil: the usual one).
    func checkSubscribeRequest(_ entry: ServerTransactionEntry, package: EventPackage, offering: [String]) -> (UInt32, NameAddress, String?)? {
        let request = entry.request
        var bodyType: String?
        if let accept = request.headers[SIPHeaderName(.accept)], !accept.isEmpty {
            let accepted = request.headers.tokens(SIPHeaderName(.accept))
            if !accepted.contains(where: { Self.mediaTypeMatches($0, package.notifyContentType) }) {
                guard let alternative = package.alternativeNotifyContentTypes.first(where: { type in
                    accepted.contains { Self.mediaTypeMatches($0, type) }
                }) else {
                    self.respond(entry, status: 406, headers: [(SIPHeaderName(.accept), offering.joined(separator: ", "))])
                    return nil
                }
                bodyType = alternative
            }
        }
        let policy = package.subscriptionExpiry
        let requested = request.expires ?? policy.defaultExpires
        if requested > 0, requested < policy.minExpires {
            self.respond(entry, status: 423, headers: [(SIPHeaderName(.minExpires), String(policy.minExpires))])
            return nil
        }
        guard case .addresses(let contacts)? = try? request.contacts(), let contact = contacts.first else {
            self.respond(entry, status: 400, reason: "Bad Request: SUBSCRIBE without Contact")
            return nil
        }
        return (requested, contact, bodyType)
    }

    /// Whether `uri` names a resource this server has, for `proceed`: with user accounts
    /// (digest), a user of a served domain; without them (`--auth none`), any. A store failure
    /// is answered with 500 and `proceed` is not called.
    func checkResourceExists(_ uri: SIPURI, for entry: ServerTransactionEntry, then proceed: @escaping @Sendable (Bool) -> Void) {
        guard self.configuration.authMode == .digest else {
            proceed(true)
            return
        }
        let store = self.store
        let (username, domain) = (uri.unescapedUser ?? "", uri.hostKey)
        self.readStore(for: entry, { try await store.user(username: username, domain: domain) != nil }, then: proceed)
    }

    private func subscribe(
        _ entry: ServerTransactionEntry, package: EventPackage, eventID: String?, uri: SIPURI, contact: NameAddress, requested: UInt32,
        isOwner: Bool, trustedForReg: Bool, in dialog: SubscriptionDialog?, bodyType: String?
    ) {
        let policy = package.subscriptionExpiry
        let resource = uri.addressOfRecord
        let watcher = entry.essentials.from.uri.addressOfRecord
        // RFC 5025: the presentity's pres-rules decide; without rules the default policy does.
        let authenticated = self.configuration.authMode == .none || self.isTrusted(entry)
            || self.identity.domains.contains(entry.essentials.from.uri.hostKey)
        let decision = isOwner || package.kind != .presence
            ? nil : self.presenceDecision(resource: resource, watcher: watcher, authenticated: authenticated)
        let authorization: SubscriptionAuthorization =
            isOwner || trustedForReg ? .allow : (decision?.0 ?? self.configuration.defaultPolicy.authorization)
        if authorization == .reject {
            // RFC 3856 §6.6: a blocked watcher is refused.
            self.respond(entry, status: 403, reason: "Forbidden: subscription to \(resource) is not allowed")
            return
        }
        // (0 is a fetch, RFC 6665 §4.4.3: one NOTIFY with the state, then terminated.)
        let expires = Int(min(requested, policy.maxExpires))
        self.createSubscription(
            entry, in: dialog, package: package, eventID: eventID, uri: uri, contact: contact, expires: expires,
            authorization: authorization, transformations: decision?.1, authenticated: authenticated
        ) { subscription in
            subscription.usesCPIMPIDF = bodyType == CPIMPIDF.contentType
        }
    }

    /// The Event header's package and id; answers 489 with Allow-Events when unknown (RFC 6665 §8.2.2).
    func eventPackage(of request: SIPRequest, entry: ServerTransactionEntry) -> (EventPackage, String?)? {
        guard let event = request.headers[SIPHeaderName(.event)],
            let parsed = try? NameAddress.eventHeader(event), let package = EventPackage.named(parsed.type)
        else {
            self.respond(entry, status: 489, headers: [(SIPHeaderName(.allowEvents), EventPackage.all.map(\.name).joined(separator: ", "))])
            return nil
        }
        return (package, parsed.id)
    }

    static func mediaTypeMatches(_ accept: String, _ type: String) -> Bool {
        guard let accepted = try? MediaType(parsing: accept), let offered = try? MediaType(parsing: type) else { return false }
        return accepted.matches(offered)
    }

    /// Creates the subscription and starts its machine. `resource` overrides what it is filed
    /// under and the URI its NOTIFYs come from (a resource list's service); `prepare` runs once
    /// it is indexed, before its first answer and NOTIFY.
    func createSubscription(
        _ entry: ServerTransactionEntry, in existingDialog: SubscriptionDialog?, package: EventPackage, eventID: String?, uri: SIPURI,
        contact: NameAddress, expires: Int, authorization: SubscriptionAuthorization, transformations: PresenceTransformations?,
        authenticated: Bool, resource resourceOverride: (key: String, uri: String)? = nil, prepare: (SubscriptionEntry) -> Void = { _ in }
    ) {
        let essentials = entry.essentials
        let now = self.instant
        let wallNow = self.wallClock()
        var resourceURI = uri
        resourceURI.parameters = []
        resourceURI.headers = []
        let (resource, sharedURI) = self.sharedResourceStrings(
            event: package.key, resource: resourceOverride?.key ?? uri.addressOfRecord, resourceURI: resourceOverride?.uri ?? resourceURI.description)
        let dialog: SubscriptionDialog
        let id: String
        if let existingDialog {
            let localTag = existingDialog.fields.localTag
            id = SubscriptionEntry.id(localTag: localTag, event: package.key, eventID: eventID)
            // The store lookup before this took a while: the dialog may have ended, or another
            // SUBSCRIBE created this very subscription meanwhile.
            guard self.dialogs[SubscriptionDialog.key(localTag: localTag)] === existingDialog, self.subscriptions[id] == nil,
                existingDialog.subscriptionIDs.contains(where: { self.subscriptions[$0].map { $0.machine.status != .terminated } ?? false })
            else {
                self.respond(entry, status: 481, reason: "Call/Transaction Does Not Exist: the dialog has ended")
                return
            }
            // The route set stays the one the dialog was created with (RFC 3261 §12.2.2); the
            // Contact refreshes the remote target.
            dialog = existingDialog
            self.refreshRemoteTarget(of: dialog, to: contact.uri.description)
            dialog.add(subscriptionID: id)
        } else {
            id = SubscriptionEntry.id(localTag: entry.toTag, event: package.key, eventID: eventID)
            let fields = DialogFields(
                callID: essentials.callID, localTag: entry.toTag, remoteTag: essentials.from.tag ?? "",
                watcher: essentials.from.uri.addressOfRecord, watcherAddress: Self.addressWithoutTag(essentials.from),
                watcherDisplayName: essentials.from.displayName.map(Self.unquote), remoteTarget: contact.uri.description,
                routeSet: ((try? entry.request.recordRoutes()) ?? []).map(\.description))
            dialog = SubscriptionDialog(
                fields: fields, localCSeq: 1, localCSeqReserved: Self.cseqReservation, remoteCSeq: essentials.cseq.sequenceNumber,
                firstSubscriptionID: id)
            self.dialogs[SubscriptionDialog.key(localTag: entry.toTag)] = dialog
        }
        let machine = NotifierSubscription(
            authorization: authorization, expiresAt: now + .seconds(expires), authorizationWait: self.configuration.authorizationWait)
        let subscription = SubscriptionEntry(
            id: id, eventID: eventID, resource: resource, resourceURI: sharedURI, expiresAt: wallNow + Int64(expires), createdAt: wallNow,
            dialog: dialog, machine: machine, package: package,
            destination: Self.notifyDestination(flow: entry.destination, contact: contact.uri, routeSet: dialog.fields.routeSet))
        if package.kind == .presence, expires > 0 {  // (a fetch leaves a waiting request in place)
            self.replaceWaitingRequests(of: essentials.from.uri.addressOfRecord, resource: resource)
        }
        // As seed 000 shows them (examples 3 and 4): a watcher waiting for authorization with
        // event "subscribe", one authorized at once (by rules, the default policy, or herself)
        // with "approved" (RFC 3858's event values).
        subscription.lastWatcherEvent = Self.watcherEvent(from: .pending, to: authorization)
        subscription.transformations = transformations
        subscription.watcherAuthenticated = authenticated
        self.subscriptions[subscription.id] = subscription
        self.subscriptionsByResource[Self.resourceKey(package.key, resource), default: []].insert(subscription.id)
        prepare(subscription)
        let actions: [NotifierSubscription.Action]
        if expires == 0 {
            actions = subscription.machine.fetch(now: now)
        } else {
            actions = subscription.machine.start(expires: expires, now: now)
        }
        self.apply(actions, to: subscription, transaction: entry)
        self.watcherChanged(subscription)
    }

    // MARK: In-dialog SUBSCRIBE (RFC 6665 §4.2.1.2, §4.2.1.4)

    func subscribeInDialog(_ entry: ServerTransactionEntry) {
        let essentials = entry.essentials
        guard let (package, eventID) = self.eventPackage(of: entry.request, entry: entry) else { return }
        let localTag = essentials.to.tag ?? ""
        let remoteTag = essentials.from.tag ?? ""
        guard let dialog = self.dialogs[SubscriptionDialog.key(localTag: localTag)],
            dialog.matches(localTag: localTag, callID: essentials.callID, remoteTag: remoteTag)
        else {
            self.respond(entry, status: 481, reason: "Call/Transaction Does Not Exist: no such subscription")
            return
        }
        guard essentials.cseq.sequenceNumber > dialog.remoteCSeq else {
            // RFC 3261 §12.2.2: a lower CSeq in a dialog is out of order.
            self.respond(entry, status: 500, reason: "Server Internal Error: CSeq out of order", headers: [(SIPHeaderName(.retryAfter), "1")])
            return
        }
        dialog.remoteCSeq = essentials.cseq.sequenceNumber
        let legacyID = SubscriptionEntry.legacyID(
            callID: essentials.callID, localTag: localTag, remoteTag: remoteTag, event: package.name, eventID: eventID)
        // A presence subscription in this dialog may be to a resource list (filed under its own key).
        let candidates = (package === EventPackage.presence ? [package, .presenceList] : [package]).map {
            SubscriptionEntry.id(localTag: localTag, event: $0.key, eventID: eventID)
        }
        let id = candidates.first { self.subscriptions[$0]?.dialog === dialog } ?? candidates[0]
        if let ended = self.subscriptions[id] ?? self.subscriptions[legacyID], ended.dialog === dialog, ended.machine.status == .terminated {
            // Over (a waiting watcher's entry, or a final NOTIFY on its way): RFC 6665 §4.1.2.2.
            self.respond(entry, status: 481, reason: "Call/Transaction Does Not Exist: the subscription has ended")
            return
        }
        guard let subscription = self.subscriptions[id] ?? self.subscriptions[legacyID], subscription.dialog === dialog else {
            // RFC 6665 §4.5.2: another event or id in the dialog is a new subscription in it, to
            // the dialog's resource (the From of its NOTIFYs), while the dialog lasts (a waiting
            // watcher keeps its entry, not its dialog).
            let members = dialog.subscriptionIDs.compactMap { self.subscriptions[$0] }
            guard members.contains(where: { $0.machine.status != .terminated }),
                let resource = members.first.flatMap({ try? SIPURI(parsing: $0.resourceURI) })
            else {
                self.respond(entry, status: 481, reason: "Call/Transaction Does Not Exist: no such subscription")
                return
            }
            self.subscribe(entry, resource: resource, in: dialog)
            return
        }
        let policy = package.subscriptionExpiry
        let requested = entry.request.expires ?? policy.defaultExpires
        if requested > 0, requested < policy.minExpires {
            self.respond(entry, status: 423, headers: [(SIPHeaderName(.minExpires), String(policy.minExpires))])
            return
        }
        if case .addresses(let contacts)? = try? entry.request.contacts(), let contact = contacts.first {
            self.refreshRemoteTarget(of: dialog, to: contact.uri.description)
        }
        // A refresh (or un-SUBSCRIBE) the dialog accepted, from the subscriber herself.
        let fields = dialog.fields
        if essentials.from.uri.addressOfRecord == fields.watcher {
            self.followSubscriber(
                in: dialog,
                to: Self.notifyDestination(flow: entry.destination, contact: try? SIPURI(parsing: fields.remoteTarget), routeSet: fields.routeSet))
        }
        if requested == 0 {
            subscription.lastWatcherEvent = .timeout
            self.apply(subscription.machine.unsubscribe(now: self.instant), to: subscription, transaction: entry)
            self.watcherChanged(subscription)
            return
        }
        // A resource removed since (a user taken off the server, a list's service) ends the
        // subscription here.
        let resourceURI = (try? SIPURI(parsing: subscription.resourceURI)) ?? entry.essentials.to.uri
        let serviceExists = self.presencePolicy.services[subscription.resource]?.owner == subscription.watcher
        let checkExists: (@escaping @Sendable (Bool) -> Void) -> Void = subscription.package.kind == .resourceList
            ? { $0(serviceExists) } : { self.checkResourceExists(resourceURI, for: entry, then: $0) }
        checkExists { exists in
            let now = self.instant
            guard self.subscriptions[subscription.id] === subscription else {
                self.respond(entry, status: 481, reason: "Call/Transaction Does Not Exist: the subscription has ended")
                return
            }
            guard exists else {
                subscription.lastWatcherEvent = .noresource
                self.apply(subscription.machine.refreshOfGoneResource(now: now), to: subscription, transaction: entry)
                self.watcherChanged(subscription)
                return
            }
            let expires = Int(min(requested, policy.maxExpires))
            subscription.expiresAt = self.wallClock() + Int64(expires)
            subscription.needsFullState = true
            self.apply(subscription.machine.refresh(expires: expires, expiresAt: now + .seconds(expires), now: now), to: subscription, transaction: entry)
            self.watcherChanged(subscription)
        }
    }

    // MARK: Carrying out the machine's actions

    func apply(_ actions: [NotifierSubscription.Action], to subscription: SubscriptionEntry, transaction: ServerTransactionEntry?) {
        for action in actions {
            switch action {
            case .respond(let status, let expires):
                guard let transaction else { continue }
                var headers: [(SIPHeaderName, String)] = [(SIPHeaderName(.expires), String(expires))]
                if status < 300 { headers.append((SIPHeaderName(.contact), self.contactHeader(for: subscription.destination.transport))) }
                // RFC 4662 §4.1: the subscription is to a list, and its NOTIFYs need the extension.
                if status < 300, subscription.package.kind == .resourceList { headers.append((SIPHeaderName(.require), "eventlist")) }
                if status < 300, transaction.essentials.to.tag == nil {
                    // RFC 3261 §12.1.1: the 2xx that creates the dialog copies its Record-Route,
                    // from which the subscriber learns the route set (the proxies stay in it).
                    for field in transaction.request.headers.fields where field.known == .recordRoute {
                        headers.append((SIPHeaderName(.recordRoute), field.value))
                    }
                }
                self.respond(transaction, status: status, headers: headers)
                // The answer is handed over now rather than after the NOTIFY built next: the
                // subscriber learns of its dialog (RFC 6665 §4.1.2.1) without waiting for the
                // state. (A NOTIFY too large for a datagram goes over TCP and may still arrive
                // first, which RFC 6665 §4.1.2.4 lets a subscriber handle.)
                self.sink.flushQueued()
            case .sendNotify(let state, let withState):
                self.sendNotify(subscription, state: state, withState: withState)
            case .scheduleTimer(let timer, let at):
                let id = subscription.id
                self.schedule(at: at) { [weak self] in
                    guard let self, let subscription = self.subscriptions[id], subscription.machine.isCurrent(timer) else { return }
                    let (wasStatus, wasWaiting) = (subscription.machine.status, subscription.machine.isWaiting)
                    let actions = subscription.machine.timerFired(timer, now: self.instant)
                    // Only a timer that ended something says why (a late one changes nothing).
                    let ended = subscription.machine.status != wasStatus || subscription.machine.isWaiting != wasWaiting
                    if ended {
                        switch timer.kind {
                        case .expiry: subscription.lastWatcherEvent = .timeout
                        case .authorizationWait: subscription.lastWatcherEvent = .giveup
                        case .retry: break
                        }
                    }
                    self.apply(actions, to: subscription, transaction: nil)
                    // A pending watcher that times out becomes waiting once its final NOTIFY is
                    // through (`.keepWaiting`); the terminated state between is transient and
                    // not reported (RFC 3857 §4.7.2).
                    if ended, subscription.machine.status == .terminated, !subscription.machine.isAboutToWait || wasWaiting {
                        self.watcherChanged(subscription)
                    }
                }
            case .persist:
                self.persist(subscription)
            case .remove:
                self.removeSubscription(subscription)
            case .keepWaiting(let until):
                if self.hasLiveSubscription(of: subscription.watcher, to: subscription.resource, besides: subscription) {
                    // The watcher subscribed again meanwhile: nothing is left waiting (RFC 3857 §4.7.1).
                    subscription.lastWatcherEvent = .giveup
                    self.apply(subscription.machine.replacedByNewSubscription(), to: subscription, transaction: nil)
                    self.watcherChanged(subscription)
                    continue
                }
                // Stored with its giveup time in place of the expiry, which has passed.
                subscription.expiresAt = self.wallClock() + Int64(NotifierSubscription.remainingSeconds(until: until, now: self.instant))
                subscription.lastWatcherEvent = .timeout
                self.persist(subscription)
                self.watcherChanged(subscription)
                self.countWaiting(subscription)
            }
        }
    }

    func persist(_ subscription: SubscriptionEntry) {
        // One already removed stays removed (a late NOTIFY answer must not store it again).
        guard self.subscriptions[subscription.id] === subscription else { return }
        self.unsavedSubscriptions[subscription.id] = .some(subscription.record)
        self.flushSubscriptions()
    }

    /// Writes subscription changes in order: one flush at a time, each with the latest record
    /// per subscription, so an older record can never overwrite a newer one.
    func flushSubscriptions() {
        guard !self.subscriptionFlushRunning, !self.unsavedSubscriptions.isEmpty else { return }
        self.subscriptionFlushRunning = true
        let changes = self.unsavedSubscriptions
        self.unsavedSubscriptions.removeAll()
        let store = self.store
        let saving = changes.values.compactMap { $0 }
        let removing = changes.compactMap { id, record in record == nil ? id : nil }
        store.applySubscriptionChanges(saving: saving, removing: removing) { result in
            self.onLoop {
                if case .failure(let error) = result { self.logger.error("cannot store subscriptions", metadata: ["error": "\(error)"]) }
                self.subscriptionFlushRunning = false
                self.flushSubscriptions()
            }
        }
    }

    func removeSubscription(_ subscription: SubscriptionEntry) {
        let id = subscription.id
        guard self.subscriptions.removeValue(forKey: id) != nil else { return }
        self.uncountWaiting(subscription)
        self.unindexList(subscription)
        let dialog = subscription.dialog
        if dialog.remove(subscriptionID: id) {
            let key = SubscriptionDialog.key(localTag: dialog.fields.localTag)
            if self.dialogs[key] === dialog { self.dialogs[key] = nil }
        } else {
            // The dialog goes on: its other subscriptions now carry the CSeqs it reserved, which
            // the removed one's stored record held (RFC 3261 §12.2.1.1 across a restart).
            for other in dialog.subscriptionIDs { self.subscriptions[other].map(self.persist) }
        }
        let key = Self.resourceKey(subscription.package.key, subscription.resource)
        self.subscriptionsByResource[key]?.remove(id)
        if self.subscriptionsByResource[key]?.isEmpty == true {
            self.subscriptionsByResource[key] = nil
            self.stateDocuments[key] = nil
        }
        self.unsavedSubscriptions[id] = .some(nil)
        self.flushSubscriptions()
    }

    static let cseqReservation: UInt32 = 100

    /// Lists a waiting request under its watcher; one over the limit gives up her oldest.
    func countWaiting(_ subscription: SubscriptionEntry) {
        guard !subscription.countedAsWaiting else { return }
        subscription.countedAsWaiting = true
        let watcher = subscription.watcher
        self.waitingByWatcher[watcher, default: []].append(subscription.id)
        while let waiting = self.waitingByWatcher[watcher], waiting.count > max(1, self.configuration.maxWaitingPerWatcher) {
            guard let oldest = self.subscriptions[waiting[0]], oldest.countedAsWaiting else {
                self.waitingByWatcher[watcher]?.removeFirst()  // (a stale id: never stall or loop on it)
                continue
            }
            oldest.lastWatcherEvent = .giveup
            self.apply(oldest.machine.replacedByNewSubscription(), to: oldest, transaction: nil)
            self.watcherChanged(oldest)
            if self.subscriptions[oldest.id] === oldest { self.uncountWaiting(oldest) }  // (not removed: never loop)
        }
    }

    private func uncountWaiting(_ subscription: SubscriptionEntry) {
        guard subscription.countedAsWaiting else { return }
        subscription.countedAsWaiting = false
        let watcher = subscription.watcher
        self.waitingByWatcher[watcher]?.removeAll { $0 == subscription.id }
        if self.waitingByWatcher[watcher]?.isEmpty == true { self.waitingByWatcher[watcher] = nil }
    }

    private func hasLiveSubscription(of watcher: String, to resource: String, besides subscription: SubscriptionEntry) -> Bool {
        (self.subscriptionsByResource[Self.resourceKey(EventPackage.presence.name, resource)] ?? []).contains { id in
            guard let other = self.subscriptions[id], other !== subscription, other.machine.status != .terminated else { return false }
            return other.watcher == watcher
        }
    }

    /// Where a subscription's NOTIFYs go: over UDP, back to where the subscriber's request came
    /// from (its NAT's mapping, RFC 3581's symmetric flow). Over TCP or TLS, on the connection it
    /// came on while that lasts; when it has closed (an idle timeout, a restart), a new one goes
    /// to the remote target, where the subscriber listens (RFC 3261 §12.2.1.1; the request's
    /// source port was an ephemeral one, nobody listens there), but only when the Contact names
    /// the very host the connection came from and no proxy is in the route set: a subscriber
    /// cannot make Herald connect to another host, and a proxy's connection is not traded for
    /// the UA behind it.
    /// (The Contact and route set are only looked at for those: most flows are UDP.)
    static func notifyDestination(
        flow: SIPDestination, contact: @autoclosure () -> SIPURI?, routeSet: @autoclosure () -> [String]
    ) -> SIPDestination {
        guard flow.transport.isReliable, routeSet().isEmpty, let contact = contact(), contact.isSIP else { return flow }
        var host = contact.host
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = contact.port ?? (flow.transport == .tls || contact.scheme == .sips ? 5061 : 5060)
        guard let address = try? SocketAddress(ipAddress: host, port: port), address.ipAddress == flow.address.ipAddress else {
            return flow
        }
        return SIPDestination(transport: flow.transport, address: address, connection: flow.connection)
    }

    /// NOTIFYs go where the subscriber's requests come from (its flow: through its NAT, on its
    /// connection), which its last request in the dialog shows: after a NAT rebinding, a
    /// network change or a new connection, they follow it instead of going to where the first
    /// SUBSCRIBE came from (RFC 5626 §5.3 reaches a UA the same way). Stored when it moved.
    private func followSubscriber(in dialog: SubscriptionDialog, to destination: SIPDestination) {
        for id in dialog.subscriptionIDs {
            guard let subscription = self.subscriptions[id], subscription.destination != destination else { continue }
            let moved = subscription.destination.storedForm != destination.storedForm
            subscription.destination = destination
            if moved { self.persist(subscription) }
        }
    }

    /// RFC 3261 §12.2.2 target refresh. In a shared dialog every subscription's record is
    /// stored again, so that a restart finds the new target whichever record it reads.
    private func refreshRemoteTarget(of dialog: SubscriptionDialog, to target: String) {
        guard dialog.updateRemoteTarget(target), dialog.isShared else { return }
        for id in dialog.subscriptionIDs { self.subscriptions[id].map(self.persist) }
    }

    /// A watcher subscribing again replaces the request it left waiting (RFC 3857 §4.7.1:
    /// the old one ends with event "giveup"), so winfo lists her once.
    /// Found through the watcher's waiting requests (`waitingByWatcher`, almost always none), not
    /// by scanning the resource's watchers.
    private func replaceWaitingRequests(of watcher: String, resource: String) {
        for id in self.waitingByWatcher[watcher] ?? [] {
            guard let old = self.subscriptions[id], old.machine.isWaiting, old.package.kind == .presence, old.resource == resource
            else { continue }
            old.lastWatcherEvent = .giveup
            self.apply(old.machine.replacedByNewSubscription(), to: old, transaction: nil)
            self.watcherChanged(old)
        }
    }

    /// The resource strings to keep for a new subscription: those of another watcher of the
    /// same resource when equal, so that every watcher shares one copy of each.
    func sharedResourceStrings(event: String, resource: String, resourceURI: String) -> (resource: String, resourceURI: String) {
        let sibling = self.subscriptionsByResource[Self.resourceKey(event, resource)]?.first.flatMap { self.subscriptions[$0] }
        let shared = sibling?.resource ?? resource
        if resourceURI == shared { return (shared, shared) }
        if let siblingURI = sibling?.resourceURI, siblingURI == resourceURI { return (shared, siblingURI) }
        return (shared, resourceURI)
    }

    /// Our Contact for dialogs on `transport` (RFC 3261 §12.1.1).
    func contactHeader(for transport: SIPTransportKind) -> String {
        self.contactHeaders[transport] ?? self.makeContactHeader(for: transport)
    }

    func viaPrefix(for transport: SIPTransportKind) -> String {
        self.viaPrefixes[transport] ?? self.makeViaPrefix(for: transport)
    }

    func makeViaPrefix(for transport: SIPTransportKind) -> String {
        "SIP/2.0/\(transport.viaToken) \(self.configuration.sentBy[transport] ?? "127.0.0.1");branch="
    }

    func makeContactHeader(for transport: SIPTransportKind) -> String {
        let sentBy = self.configuration.sentBy[transport] ?? self.configuration.sentBy.values.first ?? "127.0.0.1"
        return "<sip:\(sentBy)" + (transport == .udp ? ">" : ";transport=\(transport.rawValue)>")
    }

    static func resourceKey(_ event: String, _ resource: String) -> String { event + "|" + resource }

    static func addressWithoutTag(_ address: NameAddress) -> String {
        var copy = address
        copy.tag = nil
        return copy.description
    }

    static func unquote(_ displayName: String) -> String {
        guard displayName.hasPrefix("\""), displayName.hasSuffix("\""), displayName.count >= 2 else { return displayName }
        return String(displayName.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
    }
}

extension NameAddress {
    /// `Event: type;id=x` (RFC 6665 §8.2.1): the package name and the optional id.
    static func eventHeader(_ value: String) throws -> (type: String, id: String?) {
        let parts = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let type = parts.first, !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || "-.!%*_+`'~".contains($0) }) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed Event header")
        }
        var id: String?
        for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("id=") {
            id = String(parameter.dropFirst(3))
        }
        return (type, id)
    }
}
