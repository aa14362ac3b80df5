import PresenceDocuments

/// The `xcap-caps` application usage (RFC 4825 §12): one read-only global document,
/// `/xcap-caps/global/index`, telling clients which AUIDs, extensions and namespaces the server
/// supports.
///
///     <xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps">
///       <auids><auid>xcap-caps</auid><auid>resource-lists</auid>…</auids>
///       <extensions/>
///       <namespaces><namespace>urn:ietf:params:xml:ns:xcap-caps</namespace>…</namespaces>
///     </xcap-caps>
public struct XCAPCapabilitiesUsage: XCAPApplicationUsage {
    public static let auid = "xcap-caps"
    public static let namespace = "urn:ietf:params:xml:ns:xcap-caps"
    public static let mimeType = "application/xcap-caps+xml"
    /// The name of the capabilities document in the global tree.
    public static let documentName = "index"

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }
    public var isReadOnly: Bool { true }
    public var trees: XCAPTrees { .global }

    public init() {}

    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        XCAPValidation.requireRoot(document, Self.name("xcap-caps"))
    }

    /// The capabilities document; `XCAPApplicationUsageRegistry.capabilitiesDocument()` fills it
    /// from the registered usages.
    public static func document(auids: [String], extensions: [String] = [], namespaces: [String]) -> XMLElement {
        func list(_ name: String, _ item: String, _ values: [String]) -> XMLNode {
            .element(XMLElement(Self.name(name), children: values.map { .element(XMLElement(Self.name(item), children: [.text($0)])) }))
        }
        var children = [list("auids", "auid", auids)]
        if !extensions.isEmpty { children.append(list("extensions", "extension", extensions)) }
        children.append(list("namespaces", "namespace", namespaces))
        return XMLElement(
            Self.name("xcap-caps"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: Self.namespace)],
            children: children)
    }

    static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
