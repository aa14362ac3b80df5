/// Namespace URIs of authorization policy documents: common policy (RFC 4745), presence
/// authorization rules (RFC 5025) and the OMA common policy extensions (OMA XDM Core,
/// `urn:oma:xml:xdm:common-policy`: `external-list`, `anonymous-request`, `other-identity`).
public enum PresRulesNamespace {
    public static let commonPolicy = "urn:ietf:params:xml:ns:common-policy"
    public static let presRules = "urn:ietf:params:xml:ns:pres-rules"
    public static let omaCommonPolicy = "urn:oma:xml:xdm:common-policy"
}

/// Element names used while reading a ruleset.
enum PresRulesName {
    static func commonPolicy(_ local: String) -> XMLName { XMLName(PresRulesNamespace.commonPolicy, local) }
    static func presRules(_ local: String) -> XMLName { XMLName(PresRulesNamespace.presRules, local) }
    static func oma(_ local: String) -> XMLName { XMLName(PresRulesNamespace.omaCommonPolicy, local) }

    static let ruleset = commonPolicy("ruleset")
    static let rule = commonPolicy("rule")
    static let conditions = commonPolicy("conditions")
    static let actions = commonPolicy("actions")
    static let transformations = commonPolicy("transformations")
    static let identity = commonPolicy("identity")
    static let one = commonPolicy("one")
    static let many = commonPolicy("many")
    static let except = commonPolicy("except")
    static let sphere = commonPolicy("sphere")
    static let validity = commonPolicy("validity")
    static let from = commonPolicy("from")
    static let until = commonPolicy("until")
    static let externalList = oma("external-list")
    static let entry = oma("entry")
    static let anonymousRequest = oma("anonymous-request")
    static let otherIdentity = oma("other-identity")
    static let subHandling = presRules("sub-handling")
}
