/// A presence authorization rules document (RFC 5025, on the common policy framework of
/// RFC 4745, with the OMA condition extensions): a `ruleset` of `rule`s, each with
/// conditions, actions and transformations. Parsing is lenient where RFC 4745 says how to
/// treat what a server does not understand (unknown conditions make their rule inapplicable,
/// unknown actions and transformations grant nothing) and strict only about the document
/// itself (well-formed, `{urn:ietf:params:xml:ns:common-policy}ruleset` root).
public struct PresenceRules: Sendable, Hashable {
    public var rules: [PresenceRule]

    public init(rules: [PresenceRule]) {
        self.rules = rules
    }

    /// Parses a document taken off the wire (an XCAP PUT of `pres-rules`).
    public init(parsing bytes: [UInt8], limits: XMLLimits = XMLLimits()) throws(PresenceDocumentError) {
        try self.init(element: PresenceDocumentError.parse(bytes, limits: limits))
    }

    public init(element root: XMLElement) throws(PresenceDocumentError) {
        guard root.name == PresRulesName.ruleset else {
            throw PresenceDocumentError(
                "not an authorization policy document: root element is \(root.name), expected \(PresRulesName.ruleset)")
        }
        self.rules = root.children(named: PresRulesName.rule).map(PresenceRule.init(element:))
    }
}

/// One rule (RFC 4745 §6): it applies when all its conditions hold; its actions and
/// transformations then count towards the combined decision.
public struct PresenceRule: Sendable, Hashable {
    /// The rule's `id` (RFC 4745 §6.1); empty when the document gave none.
    public var id: String
    /// ANDed; empty when the rule has no (or an empty) `conditions` element: it then
    /// applies to every watcher (RFC 4745 §7).
    public var conditions: [RuleCondition]
    /// The `sub-handling` action (RFC 5025 §3.2.1); nil when the rule gives none.
    public var subHandling: SubHandling?
    public var transformations: PresenceTransformations

    public init(id: String, conditions: [RuleCondition] = [], subHandling: SubHandling? = nil,
                transformations: PresenceTransformations = .nothing) {
        self.id = id
        self.conditions = conditions
        self.subHandling = subHandling
        self.transformations = transformations
    }

    init(element: XMLElement) {
        self.id = element.attribute("id") ?? ""
        self.conditions = element.firstChild(named: PresRulesName.conditions).map(Self.conditions(in:)) ?? []
        // The largest sub-handling if a rule (against the schema) gives several.
        self.subHandling = element.firstChild(named: PresRulesName.actions)?
            .children(named: PresRulesName.subHandling).compactMap { SubHandling(token: $0.text) }.max()
        self.transformations = element.firstChild(named: PresRulesName.transformations)
            .map(PresenceTransformations.init(element:)) ?? .nothing
    }
}
