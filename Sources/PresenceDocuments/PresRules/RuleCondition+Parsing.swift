extension PresenceRule {
    /// The children of a `conditions` element, each read as one condition.
    static func conditions(in element: XMLElement) -> [RuleCondition] {
        element.childElements.map(RuleCondition.init(element:))
    }
}

extension RuleCondition {
    init(element: XMLElement) {
        switch element.name {
        case PresRulesName.identity:
            self = .identity(IdentityCondition(element: element))
        case PresRulesName.sphere:
            // RFC 4745 §7.2: `value` holds a whitespace-separated list of sphere tokens.
            let tokens = (element.attribute("value") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
            self = .sphere(Set(tokens.map(String.init)))
        case PresRulesName.validity:
            self = .validity(Self.intervals(in: element))
        case PresRulesName.externalList:
            self = .externalList(element.children(named: PresRulesName.entry).compactMap { $0.attribute("anc") })
        case PresRulesName.anonymousRequest:
            self = .anonymousRequest
        case PresRulesName.otherIdentity:
            self = .otherIdentity
        default:
            self = .unknown(element.name)
        }
    }

    /// RFC 4745 §7.3: `validity` is a sequence of `from`/`until` pairs. A `from` is paired with
    /// the `until` that follows it; a pair with an unreadable or reversed time is dropped, so
    /// it can only ever narrow the rule.
    static func intervals(in element: XMLElement) -> [ValidityInterval] {
        var intervals: [ValidityInterval] = []
        var pendingFrom: XMLElement?
        for child in element.childElements {
            switch child.name {
            case PresRulesName.from:
                pendingFrom = child
            case PresRulesName.until:
                if let from = pendingFrom.flatMap({ XMLDateTime.parse($0.text) }), let until = XMLDateTime.parse(child.text),
                   from <= until {
                    intervals.append(ValidityInterval(from: from, until: until))
                }
                pendingFrom = nil
            default:
                continue
            }
        }
        return intervals
    }
}

extension IdentityCondition {
    /// RFC 4745 §7.1: `one` and `many` children; a `one` without `id` and unknown children
    /// match nobody.
    init(element: XMLElement) {
        self.ones = element.children(named: PresRulesName.one).compactMap { $0.attribute("id") }
        self.manys = element.children(named: PresRulesName.many).map { many in
            let excepts = many.children(named: PresRulesName.except)
            return ManyIdentities(
                domain: many.attribute("domain"), exceptDomains: excepts.compactMap { $0.attribute("domain") },
                exceptIDs: excepts.compactMap { $0.attribute("id") })
        }
    }
}
