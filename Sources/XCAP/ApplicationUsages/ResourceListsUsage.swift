import PresenceDocuments

/// The `resource-lists` application usage (RFC 4826 §3): a user's lists of URIs.
///
///     <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
///       <list name="rcs">
///         <display-name>My presence buddies</display-name>
///         <entry uri="sip:bob@example.com"/>
///         <entry-ref ref="resource-lists/users/…/index/~~/…"/>
///         <external anchor="http://xcap.example.com/…/~~/resource-lists/list%5B@name=%22x%22%5D"/>
///         <list name="nested">…</list>
///       </list>
///     </resource-lists>
///
/// Elements of other namespaces may appear where the schema has `<xs:any namespace="##other">`
/// and are not checked.
public struct ResourceListsUsage: XCAPApplicationUsage {
    public static let auid = "resource-lists"
    public static let namespace = "urn:ietf:params:xml:ns:resource-lists"
    public static let mimeType = "application/resource-lists+xml"

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }

    public init() {}

    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        if let error = XCAPValidation.requireRoot(document, Self.name("resource-lists")) { return error }
        for (index, child) in XCAPValidation.childElements(of: document) where child.name.namespace == Self.namespace {
            guard child.name.local == "list" else {
                return XCAPValidation.schemaError("<\(child.name.local)> is not allowed in <resource-lists>")
            }
            if let error = Self.validateList(child, at: [index], in: document) { return error }
        }
        return Self.checkListNamesUnique(in: document, at: [], document: document)
    }

    /// Checks a `<list>` (also used for the inline list of an RLS service): its content, the
    /// required attributes, and RFC 4826 §3.4.5's constraints — list names unique among sibling
    /// lists, entry URIs unique within the list, `entry-ref` relative, `external` an HTTP URI.
    package static func validateList(_ list: XMLElement, at path: [Int], in document: XMLElement) -> XCAPOperationError? {
        var displayNames = 0
        for (index, child) in XCAPValidation.childElements(of: list) where child.name.namespace == Self.namespace {
            let childPath = path + [index]
            switch child.name.local {
            case "display-name":
                displayNames += 1
                if displayNames > 1 { return XCAPValidation.schemaError("a <list> has at most one <display-name>") }
            case "entry":
                if let error = Self.validateEntry(child) { return error }
            case "entry-ref":
                guard let ref = child.attribute("ref") else {
                    return XCAPValidation.schemaError("<entry-ref> requires a 'ref' attribute")
                }
                if XCAPValidation.hasScheme(ref) {
                    return XCAPValidation.constraintFailure("the 'ref' of <entry-ref> must be a relative URI, got '\(ref)'")
                }
                if let error = Self.checkAtMostOneDisplayName(in: child, of: "entry-ref") { return error }
            case "external":
                guard let anchor = child.attribute("anchor") else {
                    return XCAPValidation.schemaError("<external> requires an 'anchor' attribute")
                }
                if !XCAPValidation.isHTTPURI(anchor) {
                    return XCAPValidation.constraintFailure("the 'anchor' of <external> must be an absolute HTTP URI, got '\(anchor)'")
                }
                if let error = Self.checkAtMostOneDisplayName(in: child, of: "external") { return error }
            case "list":
                if let error = Self.validateList(child, at: childPath, in: document) { return error }
            default:
                return XCAPValidation.schemaError("<\(child.name.local)> is not allowed in <list>")
            }
        }
        if let (repeatPath, uri) = XCAPValidation.firstRepeatedAttribute(
            "uri", amongChildrenOf: list, at: path, where: { $0.name == Self.name("entry") })
        {
            return XCAPValidation.uniquenessFailure(
                document: document, path: repeatPath, attribute: "uri", phrase: "entry '\(uri)' appears twice in the same list")
        }
        return Self.checkListNamesUnique(in: list, at: path, document: document)
    }

    private static func validateEntry(_ entry: XMLElement) -> XCAPOperationError? {
        guard entry.attribute("uri") != nil else { return XCAPValidation.schemaError("<entry> requires a 'uri' attribute") }
        return Self.checkAtMostOneDisplayName(in: entry, of: "entry")
    }

    private static func checkAtMostOneDisplayName(in element: XMLElement, of kind: String) -> XCAPOperationError? {
        let own = element.childElements.filter { $0.name.namespace == Self.namespace }
        if own.contains(where: { $0.name.local != "display-name" }) {
            return XCAPValidation.schemaError("<\(kind)> holds only a <display-name>")
        }
        return own.count > 1 ? XCAPValidation.schemaError("<\(kind)> has at most one <display-name>") : nil
    }

    /// RFC 4826 §3.4.5: the `name` of a `<list>` is unique among the lists of the same parent.
    private static func checkListNamesUnique(in parent: XMLElement, at path: [Int], document: XMLElement) -> XCAPOperationError? {
        guard let (repeatPath, name) = XCAPValidation.firstRepeatedAttribute(
            "name", amongChildrenOf: parent, at: path, where: { $0.name == Self.name("list") })
        else { return nil }
        return XCAPValidation.uniquenessFailure(
            document: document, path: repeatPath, attribute: "name", phrase: "two sibling lists are named '\(name)'")
    }

    static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
