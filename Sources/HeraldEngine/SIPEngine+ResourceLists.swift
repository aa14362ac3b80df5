import Foundation
import HeraldStore
import PresenceDocuments
import SIPCore
import SIPProtocol
import XCAP

/// The resource list server (RFC 4662): a presence SUBSCRIBE to a service URI of an
/// rls-services document (RFC 4826 §4) becomes one subscription to the state of every member of
/// the service's list. Each NOTIFY carries `multipart/related` (RFC 2387): an RLMI document
/// naming the members and the state of each one's back-end subscription, and the PIDF of each
/// active one. A member's presence is what her pres-rules let the list's owner see (the owner is
/// the watcher of each back-end subscription), and those back-end subscriptions show in the
/// members' watcher information, so that a member can approve the owner like any watcher.
extension SIPEngine {
    // MARK: The services

    /// The index key of a service URI: its address-of-record and its parameters, those that
    /// name a transport or a hop left out (RFC 3261 §19.1.4 compares the rest), so that
    /// `sip:+3390@Test-rcs.com;pres-list=rcs` and a Request-URI `sip:+3390@test-rcs.com;pres-list=rcs`
    /// name one service.
    public static func serviceKey(_ uri: SIPURI) -> String {
        let parameters = self.serviceParameters(of: uri).map { $0.name.lowercased() + ($0.value.map { "=" + $0 } ?? "") }.sorted()
        return ([uri.addressOfRecord] + parameters).joined(separator: ";")
    }

    /// The parameters that tell services apart (not those of transport and routing).
    public static func serviceParameters(of uri: SIPURI) -> [SIPParameter] {
        uri.parameters.filter { !["transport", "lr", "maddr", "ttl", "method"].contains($0.name.lowercased()) }
    }

    /// Reads the owner's rls-services document into the service index.
    func indexServices(owner: String) {
        for key in self.presencePolicy.serviceKeysByOwner.removeValue(forKey: owner) ?? [] {
            if self.presencePolicy.services[key]?.owner == owner { self.presencePolicy.services[key] = nil }
        }
        let paths = self.presencePolicy.pathsByOwner[RLSServicesUsage.auid + "|" + owner] ?? []
        var keys = Set<String>()
        for path in paths.sorted() {
            guard let document = self.presencePolicy.documents[PresencePolicyCache.key(auid: RLSServicesUsage.auid, owner: owner, path: path)]
            else { continue }
            for element in document.childElements where element.name == XMLName(RLSServicesUsage.namespace, "service") {
                guard let uriText = element.attribute("uri"), let uri = try? SIPURI(parsing: uriText), uri.isSIP,
                    let service = Self.service(element, uri: uriText, owner: owner)
                else { continue }
                // A service URI with parameters is a user's own address with a list parameter
                // (OMA's `;pres-list=`): only that user may define it, or anyone could take
                // another user's list address.
                guard Self.serviceParameters(of: uri).isEmpty || uri.addressOfRecord == owner else {
                    self.logger.info("rls-services: service URI in another user's name ignored", metadata: ["owner": "\(owner)", "uri": "\(uriText)"])
                    continue
                }
                let key = Self.serviceKey(uri)
                // XCAP keeps service URIs unique (RFC 4826 §4.4.5); a clash left in the store
                // by hand goes to the owner who had it first.
                if let other = self.presencePolicy.services[key], other.owner != owner { continue }
                self.presencePolicy.services[key] = service
                keys.insert(key)
            }
        }
        if !keys.isEmpty { self.presencePolicy.serviceKeysByOwner[owner] = keys }
    }

    private static func service(_ element: XMLElement, uri: String, owner: String) -> RLSService? {
        var list: RLSService.ListSource?
        var packages: [String]?
        for child in element.childElements {
            switch (child.name.namespace, child.name.local) {
            case (RLSServicesUsage.namespace, "resource-list"):
                list = .reference(child.text.trimmingCharacters(in: .whitespacesAndNewlines))
            case (RLSServicesUsage.namespace, "list"), (ResourceListsUsage.namespace, "list"):
                list = .inline(child)
            case (RLSServicesUsage.namespace, "packages"):
                packages = child.childElements.filter { $0.name == XMLName(RLSServicesUsage.namespace, "package") }
                    .map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            default:
                continue
            }
        }
        return list.map { RLSService(uri: uri, owner: owner, list: $0, packages: packages) }
    }

    /// The service a SUBSCRIBE's Request-URI names, if any.
    func rlsService(for uri: SIPURI) -> RLSService? {
        self.presencePolicy.services.isEmpty ? nil : self.presencePolicy.services[Self.serviceKey(uri)]
    }

    // MARK: Subscribing to a list (RFC 4662 §4.1, §4.4)

    /// A presence SUBSCRIBE to a service URI. From its owner with `Supported: eventlist` it is
    /// a list subscription; without, she cannot read list notifications: 421 with
    /// `Require: eventlist` (§4.1), unless the URI is also a user's own address (then it is
    /// that user's presence, as she asked for nothing else).
    func subscribe(_ entry: ServerTransactionEntry, toList service: RLSService, uri: SIPURI, eventID: String?, orElse ordinary: @escaping @Sendable () -> Void) {
        let request = entry.request
        let watcher = entry.essentials.from.uri.addressOfRecord
        guard watcher == service.owner else {
            // The list shows what its members let its owner see; nobody else may have that. A
            // service URI without parameters may also be a user's address: anyone else
            // subscribing to it gets that user's presence, as before the list existed.
            if Self.serviceParameters(of: uri).isEmpty {
                ordinary()
            } else {
                self.respond(entry, status: 403, reason: "Forbidden: only the owner of \(service.uri) may subscribe to it")
            }
            return
        }
        let supportsLists = (request.headers.tokens(SIPHeaderName(.supported)) + request.headers.tokens(SIPHeaderName(.require)))
            .contains { $0.lowercased() == "eventlist" }
        guard supportsLists else {
            guard Self.serviceParameters(of: uri).isEmpty else {
                self.respond(entry, status: 421, reason: "Extension Required: \(service.uri) is a resource list",
                    headers: [(SIPHeaderName(.require), "eventlist")])
                return
            }
            self.checkResourceExists(uri, for: entry) { exists in
                if exists {
                    ordinary()
                } else {
                    self.respond(entry, status: 421, reason: "Extension Required: \(service.uri) is a resource list",
                        headers: [(SIPHeaderName(.require), "eventlist")])
                }
            }
            return
        }
        guard service.serves(EventPackage.presence.name) else {
            self.respond(entry, status: 489, reason: "Bad Event: \(service.uri) does not serve presence",
                headers: [(SIPHeaderName(.allowEvents), (service.packages ?? []).joined(separator: ", "))])
            return
        }
        // RFC 4662 §5: list notifications are multipart/related (an Accept without it gets 406).
        let listTypes = [EventPackage.presenceList.notifyContentType, RLMIDocument.contentType, EventPackage.presence.notifyContentType]
        guard let (requested, contact, _) = self.checkSubscribeRequest(entry, package: .presenceList, offering: listTypes) else { return }
        let policy = EventPackage.presenceList.subscriptionExpiry
        var notifierURI = uri
        notifierURI.headers = []
        notifierURI.parameters = Self.serviceParameters(of: uri)
        self.createSubscription(
            entry, in: nil, package: .presenceList, eventID: eventID, uri: uri, contact: contact, expires: Int(min(requested, policy.maxExpires)),
            authorization: .allow, transformations: nil, authenticated: true,
            resource: (Self.serviceKey(uri), notifierURI.description)
        ) { subscription in
            subscription.resourceList = ResourceListSubscription(version: 0)
            self.refreshList(subscription, notify: false)
        }
    }

    // MARK: Members

    /// Resolves the list again and brings the subscription's members, their back-end
    /// subscriptions and the index up to date; a change of members is notified as full state
    /// (RFC 4662 §4.5). A service that is gone ends the subscription (noresource).
    func refreshList(_ subscription: SubscriptionEntry, notify: Bool, reportWatchers: Bool = true) {
        guard let list = subscription.resourceList, subscription.machine.status != .terminated else { return }
        guard let service = self.presencePolicy.services[subscription.resource], service.owner == subscription.watcher,
            service.serves(EventPackage.presence.name)
        else {
            // The service is gone (or no longer serves presence): the resource no longer exists.
            subscription.lastWatcherEvent = .noresource
            self.apply(subscription.machine.terminate(reason: .noresource, now: self.instant), to: subscription, transaction: nil)
            self.watcherChanged(subscription)
            return
        }
        let owner = service.owner
        var members: [ResourceListState.Member]
        var name: String?
        switch service.list {
        case .reference(let anchor):
            members = self.listMembers(at: anchor, owner: owner) ?? []
            name = self.listElement(at: anchor, owner: owner).flatMap { Self.displayName(of: $0.1) }
        case .inline(let element):
            members = self.listMembers(of: element, owner: owner)
            name = Self.displayName(of: element)
        }
        members = Array(members.prefix(Self.maxListMembers))
        let described = list.serviceURI != service.uri || list.listName != name
        list.serviceURI = service.uri
        list.listName = name
        let previousMembers = list.state.members
        let before = Set(previousMembers.map(\.key))
        for member in members where list.backEnds[member.key] == nil {
            list.backEnds[member.key] = self.backEnd(member: member.key, owner: owner, previous: nil)
        }
        let removed = list.state.setMembers(members) { list.backEnds[$0.key]?.instanceState ?? .pending }
        if described, list.state.members == previousMembers {
            // Only the list's name or URI changed: full state carries them.
            list.state.requestFullState()
        } else if list.state.members == previousMembers {
            return
        }
        let added = list.state.members.filter { !before.contains($0.key) }
        for member in added { self.listSubscriptionsByMember[member.key, default: []].insert(subscription.id) }
        for member in removed {
            self.unindex(listSubscription: subscription.id, member: member.key)
            // For the member, the owner's back-end subscription ends, as one its watcher
            // ends does (RFC 3857 §3.5.1).
            if var backEnd = list.backEnds.removeValue(forKey: member.key), backEnd.authorization != nil, reportWatchers {
                backEnd.lastWatcherEvent = .timeout
                self.backEndChanged(subscription, member: member.key, backEnd: backEnd, ended: true)
            }
        }
        if reportWatchers { for member in added { self.backEndChanged(subscription, member: member.key) } }
        if notify { self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil) }
    }

    /// A list is capped: each member costs a part in every full-state NOTIFY.
    static let maxListMembers = 1_000
    /// And so is the members' state in one NOTIFY (`ResourceListState.nextNotification`).
    static let maxListStateBytes = 4 << 20

    /// The lists with these services: their members are resolved again.
    func refreshLists(withServiceKeys keys: Set<String>) {
        for key in keys {
            for id in self.subscriptionsByResource[Self.resourceKey(EventPackage.presenceList.key, key)] ?? [] {
                self.subscriptions[id].map { self.refreshList($0, notify: true) }
            }
        }
    }

    private func unindex(listSubscription id: String, member: String) {
        self.listSubscriptionsByMember[member]?.remove(id)
        if self.listSubscriptionsByMember[member]?.isEmpty == true { self.listSubscriptionsByMember[member] = nil }
    }

    /// The back-end subscription of `owner` to `member`: the member's rules decide (RFC 5025),
    /// with the owner as the watcher, authenticated (she subscribed with her credentials);
    /// her own presence is hers to see.
    private func backEnd(member: String, owner: String, previous: ResourceListSubscription.BackEnd?) -> ResourceListSubscription.BackEnd {
        if member == owner { return .init(authorization: .allow, transformations: nil, lastWatcherEvent: .approved) }
        guard let uri = try? SIPURI(parsing: member), uri.isSIP, self.identity.domains.contains(uri.hostKey) else {
            return .init(authorization: nil, transformations: nil, lastWatcherEvent: .subscribe)
        }
        let decision = self.presenceDecision(resource: member, watcher: owner, authenticated: true)
        let authorization = decision?.0 ?? self.configuration.defaultPolicy.authorization
        let event = previous.map { old in
            old.authorization == authorization ? old.lastWatcherEvent : Self.watcherEvent(from: old.authorization ?? .pending, to: authorization)
        } ?? Self.watcherEvent(from: .pending, to: authorization)
        // What the rules provide matters only to an allowed watcher (a politely blocked one sees
        // the neutral document whatever they provide).
        return .init(authorization: authorization, transformations: authorization == .allow ? decision?.1 : nil, lastWatcherEvent: event)
    }

    /// The rules of `member` changed (or her sphere, or a validity bound passed): every list
    /// holding her re-evaluates its owner's back-end subscription to her (RFC 5025 §5).
    func reauthorizeListOwners(of member: String) {
        for id in self.listSubscriptionsByMember[member] ?? [] {
            guard let subscription = self.subscriptions[id], subscription.machine.status != .terminated,
                let list = subscription.resourceList, let previous = list.backEnds[member]
            else { continue }
            let backEnd = self.backEnd(member: member, owner: subscription.watcher, previous: previous)
            guard backEnd != previous else { continue }
            list.backEnds[member] = backEnd
            let statusChanged = list.state.setStatus(backEnd.instanceState, of: member)
            if backEnd.authorization != previous.authorization { self.backEndChanged(subscription, member: member) }
            // The document the owner sees changed only with the authorization or, when allowed,
            // with what the rules provide.
            let documentChanged = backEnd.authorization != previous.authorization
                || (backEnd.authorization == .allow && backEnd.transformations != previous.transformations)
            if statusChanged || (documentChanged && list.state.resourceStateChanged(member)) {
                self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil)
            }
        }
    }

    /// The presence of `member` changed: the lists showing it notify (partial state, RFC 4662 §4.5).
    func listMemberStateChanged(_ member: String) {
        for id in self.listSubscriptionsByMember[member] ?? [] {
            // A member who politely blocks the owner shows the same neutral document whatever
            // she does (RFC 5025 §3.2.1): no NOTIFY tells the owner when she is active.
            guard let subscription = self.subscriptions[id], let list = subscription.resourceList,
                list.backEnds[member]?.authorization != .politeBlock, list.state.resourceStateChanged(member)
            else { continue }
            self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil)
        }
    }

    /// Takes an ended list subscription out of the member index.
    func unindexList(_ subscription: SubscriptionEntry) {
        guard let list = subscription.resourceList else { return }
        for member in list.state.members { self.unindex(listSubscription: subscription.id, member: member.key) }
    }

    // MARK: Back-end subscriptions in the members' watcher information (RFC 3857)

    /// The winfo entry of the list owner's back-end subscription to `member`; nil for a member
    /// in another domain (no back-end subscription here).
    func backEndWatcher(_ subscription: SubscriptionEntry, member: String, backEnd: ResourceListSubscription.BackEnd, ended: Bool = false)
        -> WatcherInfoDocument.Watcher?
    {
        guard let authorization = backEnd.authorization else { return nil }
        let status: WatcherInfoDocument.Status
        var event = backEnd.lastWatcherEvent
        if ended || subscription.machine.status == .terminated {
            status = .terminated
            if !ended { event = subscription.lastWatcherEvent }
        } else {
            switch authorization {
            case .allow, .politeBlock: status = .active
            case .pending: status = .pending
            case .reject: status = .terminated
            }
        }
        return self.watcherInfoEntry(subscription, id: Self.watcherID(subscription.id + "|" + member), status: status, event: event)
    }

    /// The back-end subscriptions to `member` of every list holding her.
    func backEndWatchers(of member: String) -> [WatcherInfoDocument.Watcher] {
        (self.listSubscriptionsByMember[member] ?? []).compactMap { id in
            guard let subscription = self.subscriptions[id], let backEnd = subscription.resourceList?.backEnds[member] else { return nil }
            return self.backEndWatcher(subscription, member: member, backEnd: backEnd)
        }
    }

    /// Tells the member's winfo subscribers of a change of the owner's back-end subscription.
    func backEndChanged(_ subscription: SubscriptionEntry, member: String, backEnd: ResourceListSubscription.BackEnd? = nil, ended: Bool = false) {
        guard let backEnd = backEnd ?? subscription.resourceList?.backEnds[member],
            let watcher = self.backEndWatcher(subscription, member: member, backEnd: backEnd, ended: ended)
        else { return }
        self.watcherInfoChanged(resource: member, watcher: watcher)
    }

    // MARK: Notification bodies (RFC 4662 §5)

    /// The list NOTIFY's `multipart/related` body: the RLMI document first (the `start`), then
    /// the PIDF of each active instance it lists.
    func listBody(for subscription: SubscriptionEntry) -> (String, [UInt8])? {
        guard let list = subscription.resourceList else { return nil }
        if subscription.needsFullState {
            list.state.requestFullState()
            subscription.needsFullState = false
        }
        let domain = (try? SIPURI(parsing: subscription.resourceURI))?.hostKey ?? "herald"
        let notification = list.state.nextNotification(
            listURI: list.serviceURI, listName: list.listName, contentIDDomain: domain, stateBudget: Self.maxListStateBytes
        ) { member in
            list.backEnds[member].flatMap { self.memberDocument(member, backEnd: $0) }
        }
        var parts = [
            MultipartBody.Part(
                headers: SIPHeaders([
                    (SIPHeaderName("Content-Transfer-Encoding"), "binary"), (SIPHeaderName("Content-ID"), "<\(notification.rlmiContentID)>"),
                    (SIPHeaderName(.contentType), RLMIDocument.contentType + ";charset=\"UTF-8\""),
                ]),
                body: XMLSerializer.serializedBytes(notification.rlmi))
        ]
        for part in notification.parts {
            parts.append(MultipartBody.Part(
                headers: SIPHeaders([
                    (SIPHeaderName("Content-Transfer-Encoding"), "binary"), (SIPHeaderName("Content-ID"), "<\(part.contentID)>"),
                    (SIPHeaderName(.contentType), part.contentType + ";charset=\"UTF-8\""),
                ]),
                body: part.body))
        }
        let boundary = MultipartBody.randomBoundary()
        let contentType = "multipart/related;type=\"\(RLMIDocument.contentType)\";start=\"<\(notification.rlmiContentID)>\";boundary=\"\(boundary)\""
        return (contentType, MultipartBody(boundary: boundary, parts: parts).serialized())
    }

    /// A member's presence as her rules let the list's owner see it (RFC 5025 §3.3).
    private func memberDocument(_ member: String, backEnd: ResourceListSubscription.BackEnd) -> (contentType: String, body: [UInt8])? {
        let contentType = EventPackage.presence.notifyContentType
        switch backEnd.authorization {
        case .politeBlock?:
            // RFC 5025 §3.2.1: politely blocked, the owner sees a neutral document.
            return (contentType, XMLSerializer.serializedBytes(PresenceFilter.neutralDocument(entity: member)))
        case .allow?:
            if let transformations = backEnd.transformations {
                let filtered = PresenceFilter.apply(transformations, to: self.composedPresence(resource: member, entity: member).element)
                return (contentType, XMLSerializer.serializedBytes(filtered))
            }
            let build = { (contentType, self.composedPresence(resource: member, entity: member).serialized()) }
            // The same document every unfiltered watcher of the member gets, when she has any
            // (a document cached for nobody else would stay until her next change).
            guard self.subscriptionsByResource[Self.resourceKey(EventPackage.presence.key, member)] != nil else { return build() }
            guard case .ready(let body?) = self.sharedStateDocument(event: EventPackage.presence.name, resource: member, build) else {
                return nil
            }
            return (contentType, body.1)
        default:
            return nil
        }
    }
}
