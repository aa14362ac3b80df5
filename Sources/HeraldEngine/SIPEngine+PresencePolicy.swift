import Foundation
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPProtocol
import XCAP

/// The XCAP documents that shape presence, kept parsed in the engine: pres-rules decide who
/// sees what (RFC 5025), resource-lists resolve their `external-list` conditions (OMA), and
/// pidf-manipulation is the presentity's permanent state (RFC 4827). The HTTP side reports each
/// change through `xcapDocumentChanged`, so a change takes effect at once (no polling).
struct PresencePolicyCache {
    /// Parsed documents by `auid|owner|path`.
    var documents: [String: XMLElement] = [:]
    /// Document paths by `auid|owner`, so that finding a user's document needs no scan.
    var pathsByOwner: [String: Set<String>] = [:]
    /// The store read in progress per document (`xcapDocumentChanged(auid:owner:path:)`).
    var reloads: [String: EventLoopFuture<Void>] = [:]
    var rulesByOwner: [String: PresenceRules] = [:]
    var permanentStateByOwner: [String: PIDFDocument] = [:]
    /// Owners whose rules have a `sphere` condition (re-evaluated when their presence changes).
    var sphereOwners: Set<String> = []
    /// Per owner, a generation for the timer that re-evaluates at the next validity boundary.
    var validityTimerGeneration: [String: Int] = [:]
    /// Resource list services by `SIPEngine.serviceKey` (RFC 4826 §4.4.5: unique on the server).
    var services: [String: RLSService] = [:]
    var serviceKeysByOwner: [String: Set<String>] = [:]

    static let presRulesUsages: Set<String> = [PresRulesUsage.ietfAUID, PresRulesUsage.omaAUID]
    static let relevantUsages: Set<String> = presRulesUsages.union([
        ResourceListsUsage.auid, PIDFManipulationUsage.auid, RLSServicesUsage.auid,
    ])

    static func key(auid: String, owner: String, path: String) -> String { auid + "|" + owner + "|" + path }
}

extension SIPEngine {
    /// Loads the policy documents from the store (at startup).
    func restorePresencePolicy() -> EventLoopFuture<Int> {
        let store = self.store
        return self.loop.makeFutureWithTask { () async throws -> [XCAPDocumentRecord] in
            var records: [XCAPDocumentRecord] = []
            for auid in PresencePolicyCache.relevantUsages.sorted() { records += try await store.xcapDocuments(auid: auid) }
            return records
        }.map { records in
            for record in records {
                guard let element = try? XMLDocumentParser.parse(record.body) else { continue }
                self.cachePolicyDocument(auid: record.auid, owner: record.owner, path: record.path, element: element)
            }
            return records.count
        }
    }

    /// An XCAP document changed in the store: the engine reads it back and applies it. Reads
    /// for one document run one after another, so the engine always ends with what the store
    /// holds, even when two HTTP requests report their commits out of order.
    /// The future completes once the engine applies the change (the XCAP server answers then,
    /// so that a SUBSCRIBE right after a PUT finds it in effect).
    @discardableResult
    public func xcapDocumentChanged(auid: String, owner: String, path: String) -> EventLoopFuture<Void> {
        guard self.loop.inEventLoop else {
            return self.loop.flatSubmit { self.xcapDocumentChanged(auid: auid, owner: owner, path: path) }
        }
        guard PresencePolicyCache.relevantUsages.contains(auid) else { return self.loop.makeSucceededVoidFuture() }
        let key = PresencePolicyCache.key(auid: auid, owner: owner, path: path)
        let store = self.store
        let previous = self.presencePolicy.reloads[key] ?? self.loop.makeSucceededVoidFuture()
        let reload = previous.flatMap {
            self.loop.makeFutureWithTask { try await store.xcapDocument(auid: auid, owner: owner, path: path) }
        }.map { record in
            let element = record.flatMap { try? XMLDocumentParser.parse($0.body) }
            self.xcapDocumentChanged(auid: auid, owner: owner, path: path, document: element)
        }.recover { error in
            self.logger.error("cannot reload XCAP document", metadata: ["auid": "\(auid)", "owner": "\(owner)", "error": "\(error)"])
        }
        self.presencePolicy.reloads[key] = reload
        reload.whenComplete { _ in
            if self.presencePolicy.reloads[key] === reload { self.presencePolicy.reloads[key] = nil }
        }
        return reload
    }

    /// An XCAP document that may affect SIP state changed (nil: deleted). Pres-rules and lists
    /// re-evaluate the owner's watchers; pidf-manipulation re-notifies them (RFC 4827 §1).
    public func xcapDocumentChanged(auid: String, owner: String, path: String, document: XMLElement?) {
        guard self.loop.inEventLoop else {
            self.loop.execute { self.xcapDocumentChanged(auid: auid, owner: owner, path: path, document: document) }
            return
        }
        guard PresencePolicyCache.relevantUsages.contains(auid) else { return }
        let servicesBefore = self.presencePolicy.serviceKeysByOwner[owner] ?? []
        self.cachePolicyDocument(auid: auid, owner: owner, path: path, element: document)
        if auid == RLSServicesUsage.auid || auid == ResourceListsUsage.auid {
            // The owner's lists may have changed members (RFC 4662 §4.5: a full-state NOTIFY).
            self.refreshLists(withServiceKeys: servicesBefore.union(self.presencePolicy.serviceKeysByOwner[owner] ?? []))
        }
        if auid == PIDFManipulationUsage.auid {
            self.resourceStateChanged(event: EventPackage.presence.name, resource: owner)
        } else if auid != RLSServicesUsage.auid {
            // A list can be referenced from the owner's rules; rules change the owner's watchers.
            self.reauthorizeWatchers(of: owner)
        }
    }

    private func cachePolicyDocument(auid: String, owner: String, path: String, element: XMLElement?) {
        let key = PresencePolicyCache.key(auid: auid, owner: owner, path: path)
        self.presencePolicy.documents[key] = element
        if element == nil {
            self.presencePolicy.pathsByOwner[auid + "|" + owner]?.remove(path)
        } else {
            self.presencePolicy.pathsByOwner[auid + "|" + owner, default: []].insert(path)
        }
        if PresencePolicyCache.presRulesUsages.contains(auid) {
            // The OMA usage and the IETF one hold the same document type; the OMA one wins when
            // both exist (RCS clients write it, seed 001, under the name `pres-rules`).
            let document = [PresRulesUsage.omaAUID, PresRulesUsage.ietfAUID].lazy.compactMap { self.ownerDocument(auid: $0, owner: owner) }.first
            let rules = document.flatMap { try? PresenceRules(element: $0) }
            self.presencePolicy.rulesByOwner[owner] = rules
            let conditions = rules?.rules.flatMap(\.conditions) ?? []
            if conditions.contains(where: { if case .sphere = $0 { true } else { false } }) {
                self.presencePolicy.sphereOwners.insert(owner)
            } else {
                self.presencePolicy.sphereOwners.remove(owner)
            }
            self.scheduleValidityBoundary(owner: owner, conditions: conditions)
        } else if auid == PIDFManipulationUsage.auid {
            self.presencePolicy.permanentStateByOwner[owner] =
                self.ownerDocument(auid: auid, owner: owner).flatMap { try? PIDFDocument(element: $0) }
        } else if auid == RLSServicesUsage.auid {
            self.indexServices(owner: owner)
        }
    }

    /// RFC 4745 §7.3: a rule with a validity interval starts or stops applying at its bounds
    /// without anyone touching the document; the owner's watchers are evaluated again then.
    private func scheduleValidityBoundary(owner: String, conditions: [RuleCondition]) {
        let generation = (self.presencePolicy.validityTimerGeneration[owner] ?? 0) + 1
        self.presencePolicy.validityTimerGeneration[owner] = generation
        let now = Double(self.wallClock())
        var next: Double?
        for case .validity(let intervals) in conditions {
            for interval in intervals {
                for bound in [interval.from.timeIntervalSince1970, interval.until.timeIntervalSince1970 + 1] where bound > now {
                    next = min(next ?? bound, bound)
                }
            }
        }
        guard let next else { return }
        let delay = min(next - now, 86_400)  // re-arm at least daily for far bounds
        self.schedule(at: self.instant + .milliseconds(Int64(delay * 1000))) { [weak self] in
            guard let self, self.presencePolicy.validityTimerGeneration[owner] == generation else { return }
            self.reauthorizeWatchers(of: owner)
            let current = self.presencePolicy.rulesByOwner[owner]?.rules.flatMap(\.conditions) ?? []
            self.scheduleValidityBoundary(owner: owner, conditions: current)
        }
    }

    /// The owner's document of a usage that keeps one per user: `index` (RFC 4825 §7.1's
    /// convention), else the first by name (OMA clients name theirs, e.g. `perm-presence`).
    private func ownerDocument(auid: String, owner: String) -> XMLElement? {
        let paths = self.presencePolicy.pathsByOwner[auid + "|" + owner] ?? []
        guard let path = paths.contains("index") ? "index" : paths.min() else { return nil }
        return self.presencePolicy.documents[PresencePolicyCache.key(auid: auid, owner: owner, path: path)]
    }

    /// The decision for a watcher of `resource`: nil when the presentity has no rules (the
    /// default policy applies). A watcher the rules do not mention waits for confirmation
    /// (or is refused under `--default-policy block`): a user with rules is never exposed by
    /// the server's default.
    func presenceDecision(resource: String, watcher: String, authenticated: Bool) -> (SubscriptionAuthorization, PresenceTransformations)? {
        guard let rules = self.presencePolicy.rulesByOwner[resource] else { return nil }
        let sphere = self.presencePolicy.sphereOwners.contains(resource)
            ? PresenceAuthorization.currentSphere(of: self.composedPresence(resource: resource, entity: resource).element) : nil
        let decision = PresenceAuthorization.evaluate(
            rules: rules, watcher: WatcherIdentity(uri: watcher, authenticated: authenticated),
            now: Date(timeIntervalSince1970: TimeInterval(self.wallClock())), sphere: sphere,
            resolveList: { anchor in self.resolveExternalList(anchor, owner: resource) })
        let authorization: SubscriptionAuthorization
        switch decision.subHandling {
        case .allow?: authorization = .allow
        case .politeBlock?: authorization = .politeBlock
        case .confirm?: authorization = .pending
        case .block?: authorization = .reject
        case nil: authorization = self.configuration.defaultPolicy == .block ? .reject : .pending
        }
        return (authorization, decision.transformations)
    }

    /// Re-evaluates every presence watcher of `owner` against her current rules (RFC 5025 §5:
    /// a rule change applies to existing subscriptions): approved watchers get an active NOTIFY
    /// with state, blocked ones are terminated, and winfo reports why.
    func reauthorizeWatchers(of owner: String) {
        self.reauthorizeListOwners(of: owner)
        let key = Self.resourceKey(EventPackage.presence.name, owner)
        for id in self.subscriptionsByResource[key] ?? [] {
            // Live subscriptions, and waiting watchers the presentity may now approve or reject
            // (RFC 3857 §4.7.1).
            guard let subscription = self.subscriptions[id], subscription.machine.status != .terminated || subscription.machine.isWaiting
            else { continue }
            let watcher = subscription.watcher
            guard watcher != owner else { continue }
            let decision = self.presenceDecision(resource: owner, watcher: watcher, authenticated: subscription.watcherAuthenticated)
            let authorization = decision?.0 ?? self.configuration.defaultPolicy.authorization
            let transformations = decision?.1
            let previous = subscription.machine.authorization
            let filterChanged = subscription.transformations != transformations
            subscription.transformations = transformations
            if authorization != previous {
                subscription.lastWatcherEvent = Self.watcherEvent(from: previous, to: authorization)
                self.apply(subscription.machine.authorizationChanged(authorization, now: self.instant), to: subscription, transaction: nil)
                self.watcherChanged(subscription)
            } else if filterChanged, authorization == .allow {
                self.apply(subscription.machine.stateChanged(now: self.instant), to: subscription, transaction: nil)
            }
        }
    }

    /// RFC 3857 §3.5.1's event for a watcher whose authorization changed.
    static func watcherEvent(from old: SubscriptionAuthorization, to new: SubscriptionAuthorization) -> WatcherInfoDocument.Event {
        switch new {
        case .allow, .politeBlock: return .approved
        case .reject: return .rejected
        case .pending: return old == .pending ? .subscribe : .deactivated
        }
    }

    /// The member URIs of a list an `external-list` anchor points to, resolved in this server's
    /// own resource-lists documents whatever scheme, host and port the anchor names (nothing is
    /// fetched from elsewhere). Only the rules owner's lists (and the global tree) count, so
    /// rules cannot probe another user's private lists. Nested `external` and `entry-ref`
    /// references are followed once each, within a budget: a document that refers to itself
    /// costs nothing more. nil when the anchor names no list here.
    func resolveExternalList(_ anchor: String, owner: String) -> Set<String>? {
        self.listMembers(at: anchor, owner: owner).map { Set($0.map(\.key)) }
    }

    /// The members of the list an XCAP URI selects in `owner`'s documents, in list order
    /// with their display names, each once (rules as for `resolveExternalList`).
    func listMembers(at anchor: String, owner: String) -> [ResourceListState.Member]? {
        var resolution = ListResolution()
        return self.resolveList(anchor, owner: owner, resolution: &resolution) ? resolution.members : nil
    }

    /// The members of a list element (a `<list>` written inside an rls-services service).
    func listMembers(of list: XMLElement, owner: String) -> [ResourceListState.Member] {
        var resolution = ListResolution()
        self.collectMembers(of: list, owner: owner, depth: 0, resolution: &resolution)
        return resolution.members
    }

    /// A list being resolved: what was found so far, the lists already visited, and what is
    /// left of the budget (a list that refers to itself, or a huge one, costs nothing more).
    struct ListResolution {
        var members: [ResourceListState.Member] = []
        var seen = Set<String>()
        var visited = Set<String>()
        var lists = 64
        var budget = 10_000

        mutating func add(_ uri: String, name: String?) {
            guard self.budget > 0 else { return }
            self.budget -= 1
            let key = SIPEngine.canonicalMember(uri)
            if self.seen.insert(key).inserted { self.members.append(ResourceListState.Member(key: key, uri: uri, name: name)) }
        }
    }

    private func resolveList(_ anchor: String, owner: String, resolution: inout ListResolution) -> Bool {
        guard resolution.lists > 0, resolution.visited.insert(anchor).inserted, let (_, list) = self.listElement(at: anchor, owner: owner) else {
            return false
        }
        resolution.lists -= 1
        self.collectMembers(of: list, owner: owner, depth: 0, resolution: &resolution)
        return true
    }

    private func collectMembers(of list: XMLElement, owner: String, depth: Int, resolution: inout ListResolution) {
        let namespace = ResourceListsUsage.namespace
        for child in list.childElements where child.name.namespace == namespace && resolution.budget > 0 {
            switch child.name.local {
            case "entry":
                if let entry = child.attribute("uri") { resolution.add(entry, name: Self.displayName(of: child)) }
            case "list" where depth < 8:
                self.collectMembers(of: child, owner: owner, depth: depth + 1, resolution: &resolution)
            case "external":
                if let anchor = child.attribute("anchor") { _ = self.resolveList(anchor, owner: owner, resolution: &resolution) }
            case "entry-ref":
                // RFC 4826 §3.2: `ref` is relative to the XCAP root and selects an entry.
                guard let ref = child.attribute("ref"), resolution.lists > 0 else { continue }
                resolution.lists -= 1
                if let (_, entry) = self.listElement(at: self.xcapRootPath + ref, owner: owner), let target = entry.attribute("uri") {
                    resolution.add(target, name: Self.displayName(of: child) ?? Self.displayName(of: entry))
                }
            default:
                continue
            }
        }
    }

    /// An entry's or list's `<display-name>` (RFC 4826 §3.2).
    static func displayName(of element: XMLElement) -> String? {
        let name = element.childElements.first { $0.name == XMLName(ResourceListsUsage.namespace, "display-name") }?.text
        return name.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The XCAP root with exactly one trailing slash.
    private var xcapRootPath: String {
        var root = self.configuration.xcapRoot
        while root.hasSuffix("/") { root.removeLast() }
        return root + "/"
    }

    /// The element an XCAP URI (absolute or a path) selects in a cached resource-lists document
    /// of `owner` or of the global tree.
    func listElement(at reference: String, owner: String) -> (XCAPURI, XMLElement)? {
        var path = reference
        if let scheme = path.range(of: "://") {
            let rest = path[scheme.upperBound...]
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        var query: String?
        if let mark = path.firstIndex(of: "?") {
            query = String(path[path.index(after: mark)...])
            path = String(path[..<mark])
        }
        guard let uri = try? XCAPURI.parse(path: path, query: query, xcapRoot: self.configuration.xcapRoot),
            uri.auid == ResourceListsUsage.auid, let selectorText = uri.nodeSelector
        else { return nil }
        let documentOwner = uri.xui.map(Self.xcapOwner) ?? ""
        guard documentOwner == owner || documentOwner.isEmpty,
            let document = self.presencePolicy.documents[PresencePolicyCache.key(auid: uri.auid, owner: documentOwner, path: uri.documentName)],
            let selector = try? XCAPNodeSelector.parse(selectorText, namespaceBindings: uri.namespaceBindings, defaultNamespace: ResourceListsUsage.namespace),
            case .element(let path)? = selector.select(in: document), let element = document.element(at: path)
        else { return nil }
        return (uri, element)
    }

    /// The store's owner key for an XCAP user id: a SIP URI's address-of-record (the same key
    /// the SIP side uses, so `Test-rcs.com` and `test-rcs.com` are one user), else the XUI
    /// with scheme and host lowercased.
    public static func xcapOwner(_ xui: String) -> String {
        if let uri = try? SIPURI(parsing: xui), uri.isSIP { return uri.addressOfRecord }
        return XCAPUserKey.normalize(xui)
    }

    /// List entries compare with watcher AORs: SIP URIs by address-of-record.
    static func canonicalMember(_ uri: String) -> String {
        if let parsed = try? SIPURI(parsing: uri), parsed.isSIP { return parsed.addressOfRecord }
        return uri
    }
}
