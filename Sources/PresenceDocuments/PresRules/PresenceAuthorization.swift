import Foundation

/// Evaluates presence authorization rules for one watcher (RFC 5025 §3, RFC 4745 §10).
public enum PresenceAuthorization {
    /// Finds the rules that apply to `watcher` and combines them.
    ///
    /// - A rule applies when all its conditions hold (RFC 4745 §7); one without conditions
    ///   applies to everybody; one with a condition this server does not know never applies.
    /// - `identity` and OMA `external-list` match authenticated watchers only; URIs compare as
    ///   `PolicyURI` describes (scheme and host case-insensitive, user exact).
    /// - OMA `other-identity` holds when no other rule that says who the watcher is
    ///   (through `identity`, `external-list` or `anonymous-request`) applies: it is the
    ///   "everybody else" rule of an OMA ruleset such as seed 001's `wp_prs_unlisted`.
    /// - The applying rules combine by RFC 4745 §10.2: the largest sub-handling, the union of
    ///   transformations.
    ///
    /// - Parameters:
    ///   - now: the instant `validity` conditions are checked against.
    ///   - sphere: the presentity's current sphere (RFC 4480 `sphere`, see
    ///     `currentSphere(of:)`); nil when unknown, and then no `sphere` condition holds.
    ///   - resolveList: the member URIs of the resource list an `external-list` entry's `anc`
    ///     points to, or nil when it cannot be resolved (that entry then matches nobody).
    ///     Called at most once per distinct anchor.
    public static func evaluate(
        rules: PresenceRules, watcher: WatcherIdentity, now: Date, sphere: String? = nil,
        resolveList: (String) -> Set<String>?
    ) -> AuthorizationDecision {
        var resolvedLists: [String: Set<String>?] = [:]
        func members(of anchor: String) -> Set<String>? {
            if let cached = resolvedLists[anchor] { return cached }
            let resolved = resolveList(anchor)
            resolvedLists[anchor] = .some(resolved)
            return resolved
        }
        func holds(_ condition: RuleCondition) -> Bool {
            switch condition {
            case .identity(let identity):
                guard let uri = watcher.authenticatedURI else { return false }
                return identity.matches(uri)
            case .sphere(let spheres):
                guard let sphere = sphere?.trimmedXMLWhitespace, !sphere.isEmpty else { return false }
                return spheres.contains { $0.lowercased() == sphere.lowercased() }
            case .validity(let intervals):
                return intervals.contains { $0.contains(now) }
            case .externalList(let anchors):
                guard let uri = watcher.authenticatedURI else { return false }
                return anchors.contains { anchor in
                    members(of: anchor)?.contains { PolicyURI.sameIdentity($0, uri) } ?? false
                }
            case .anonymousRequest:
                return watcher.isAnonymous
            case .otherIdentity:
                // Decided below, once the other rules are known.
                return true
            case .unknown:
                return false
            }
        }

        let list = rules.rules
        var applies = list.map { rule in rule.conditions.allSatisfy(holds) }
        let isCatchAll = list.map { $0.conditions.contains(.otherIdentity) }
        let watcherIsKnown = list.indices.contains { index in
            applies[index] && !isCatchAll[index] && list[index].conditions.contains { $0.identifiesWatcher }
        }
        for index in list.indices where isCatchAll[index] && watcherIsKnown {
            applies[index] = false
        }

        var decision = AuthorizationDecision(subHandling: nil, transformations: .nothing, matchedRuleIDs: [])
        for (index, rule) in list.enumerated() where applies[index] {
            decision.matchedRuleIDs.append(rule.id)
            if let subHandling = rule.subHandling {
                decision.subHandling = max(decision.subHandling ?? subHandling, subHandling)
            }
            decision.transformations = decision.transformations.combined(with: rule.transformations)
        }
        return decision
    }

    /// The presentity's current sphere as RPID publishes it (RFC 4480): the first person's
    /// `sphere` element, either its text or the name of its `work`/`home` child.
    public static func currentSphere(of pidf: XMLElement) -> String? {
        let sphereName = XMLName(PresenceNamespace.rpid, "sphere")
        for person in pidf.children(named: PIDFName.person) {
            guard let sphere = person.firstChild(named: sphereName) else { continue }
            if !sphere.text.isEmpty { return sphere.text }
            if let token = sphere.childElements.first { return token.name.local }
        }
        return nil
    }
}

extension IdentityCondition {
    /// RFC 4745 §7.1: any `one` equal to the watcher, or any `many` covering it.
    func matches(_ uri: String) -> Bool {
        self.ones.contains { PolicyURI.sameIdentity($0, uri) } || self.manys.contains { $0.matches(uri) }
    }
}

extension ManyIdentities {
    /// RFC 4745 §7.1.3: in the domain (any domain when none is given) and not excepted.
    func matches(_ uri: String) -> Bool {
        if let domain = self.domain, !PolicyURI.isInDomain(uri, domain: domain) { return false }
        if self.exceptDomains.contains(where: { PolicyURI.isInDomain(uri, domain: $0) }) { return false }
        return !self.exceptIDs.contains { PolicyURI.sameIdentity($0, uri) }
    }
}
