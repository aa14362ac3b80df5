import PresenceDocuments

/// The presence authorization rules usages: IETF `pres-rules` (RFC 5025 §9) and OMA
/// `org.openmobilealliance.pres-rules`, which share the MIME type and the document format: a
/// common-policy `<ruleset>` (RFC 4745) whose actions and transformations come from the
/// pres-rules namespace.
///
///     <cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
///       <cr:rule id="wp_prs_allow_own">
///         <cr:conditions>…</cr:conditions>
///         <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
///         <cr:transformations>…</cr:transformations>
///       </cr:rule>
///     </cr:ruleset>
///
/// The default document namespace is the pres-rules one (RFC 5025 §9.3), so node selectors
/// reach the ruleset with a bound prefix: `cp:ruleset/cp:rule[@id="x"]?xmlns(cp=…common-policy)`.
public struct PresRulesUsage: XCAPApplicationUsage {
    public static let ietfAUID = "pres-rules"
    public static let omaAUID = "org.openmobilealliance.pres-rules"
    public static let namespace = "urn:ietf:params:xml:ns:pres-rules"
    public static let commonPolicyNamespace = "urn:ietf:params:xml:ns:common-policy"
    public static let mimeType = "application/auth-policy+xml"

    public static let ietf = PresRulesUsage(auid: Self.ietfAUID)
    public static let oma = PresRulesUsage(auid: Self.omaAUID)

    public let auid: String
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }
    public var namespaces: [String] { [Self.namespace, Self.commonPolicyNamespace] }

    public init(auid: String) {
        self.auid = auid
    }

    /// RFC 4745: every rule has an `id`, unique within the ruleset; a rule holds at most one
    /// each of conditions, actions and transformations.
    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        if let error = XCAPValidation.requireRoot(document, Self.policyName("ruleset")) { return error }
        var seen = Set<String>()
        for (index, rule) in XCAPValidation.childElements(of: document) where rule.name.namespace == Self.commonPolicyNamespace {
            guard rule.name.local == "rule" else {
                return XCAPValidation.schemaError("<\(rule.name.local)> is not allowed in <ruleset>")
            }
            guard let id = rule.attribute("id") else { return XCAPValidation.schemaError("<rule> requires an 'id' attribute") }
            if !seen.insert(id).inserted {
                return XCAPValidation.uniquenessFailure(
                    document: document, path: [index], attribute: "id", phrase: "rule id '\(id)' is used twice")
            }
            var counts = [String: Int]()
            for part in rule.childElements where part.name.namespace == Self.commonPolicyNamespace {
                guard ["conditions", "actions", "transformations"].contains(part.name.local) else {
                    return XCAPValidation.schemaError("<\(part.name.local)> is not allowed in <rule>")
                }
                counts[part.name.local, default: 0] += 1
                if counts[part.name.local, default: 0] > 1 {
                    return XCAPValidation.schemaError("a <rule> has at most one <\(part.name.local)>")
                }
            }
        }
        return nil
    }

    static func policyName(_ local: String) -> XMLName { XMLName(Self.commonPolicyNamespace, local) }
}
