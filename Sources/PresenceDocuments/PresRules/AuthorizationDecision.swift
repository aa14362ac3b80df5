/// The outcome of evaluating a watcher against a presentity's rules.
public struct AuthorizationDecision: Sendable, Hashable {
    /// The combined `sub-handling` of the matching rules: the largest (RFC 5025 §3.2.1,
    /// RFC 4745 §10.2). nil when no matching rule gives one — in particular when no rule
    /// matched — so the caller's default policy applies.
    public var subHandling: SubHandling?
    /// The union of the matching rules' transformations (RFC 4745 §10.2): what an allowed
    /// watcher may see. `.nothing` when no rule matched.
    public var transformations: PresenceTransformations
    /// The ids of the rules that applied, in document order (for logs and tests).
    public var matchedRuleIDs: [String]

    public init(subHandling: SubHandling?, transformations: PresenceTransformations, matchedRuleIDs: [String]) {
        self.subHandling = subHandling
        self.transformations = transformations
        self.matchedRuleIDs = matchedRuleIDs
    }
}
