/// The format of the presence drafts that preceded RFC 3863 (draft-ietf-impp-cpim-pidf), which
/// early IMS watchers read (3GPP TS 24.141's flows, seed 003): the same document with its own
/// media type and namespace, and a `pres:` entity. Herald composes RFC 3863 PIDF and writes this
/// form for a watcher whose Accept names only it.
public enum CPIMPIDF {
    public static let contentType = "application/cpim-pidf+xml"
    public static let namespace = "urn:ietf:params:xml:ns:cpim-pidf"

    /// `document` (PIDF) in the CPIM-PIDF namespace; other namespaces (RPID, the data model,
    /// OMA's) are kept as they are.
    public static func document(from document: XMLElement) -> XMLElement {
        var converted = self.renamed(document)
        if let entity = converted.attribute("entity"), let colon = entity.firstIndex(of: ":"),
            ["sip", "sips"].contains(entity[..<colon].lowercased())
        {
            converted.setAttribute("entity", "pres" + entity[colon...])
        }
        return converted
    }

    private static func renamed(_ element: XMLElement) -> XMLElement {
        var element = element
        if element.name.namespace == PresenceNamespace.pidf { element.name.namespace = Self.namespace }
        for index in element.namespaceDeclarations.indices where element.namespaceDeclarations[index].uri == PresenceNamespace.pidf {
            element.namespaceDeclarations[index].uri = Self.namespace
        }
        element.children = element.children.map { child in
            if case .element(let nested) = child { return .element(self.renamed(nested)) }
            return child
        }
        return element
    }
}
