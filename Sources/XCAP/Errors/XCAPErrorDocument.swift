import PresenceDocuments

/// Builds `application/xcap-error+xml` bodies (RFC 4825 §11):
///
///     <xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error">
///       <no-parent phrase="…"><ancestor>http://…/index</ancestor></no-parent>
///     </xcap-error>
public enum XCAPErrorDocument {
    public static let namespace = "urn:ietf:params:xml:ns:xcap-error"
    public static let contentType = "application/xcap-error+xml"

    /// The `<xcap-error>` element for `condition`.
    public static func element(for condition: XCAPErrorCondition) -> XMLElement {
        var conditionElement = XMLElement(Self.name(condition.elementName))
        if let phrase = condition.phrase { conditionElement.setAttribute("phrase", phrase) }
        switch condition {
        case .noParent(let ancestor?, _):
            conditionElement.children = [.element(XMLElement(Self.name("ancestor"), children: [.text(ancestor)]))]
        case .uniquenessFailure(let conflicts, _):
            conditionElement.children = conflicts.map { conflict in
                var exists = XMLElement(Self.name("exists"), attributes: [XMLAttribute(XMLName("", "field"), conflict.field)])
                exists.children = conflict.alternativeValues.map {
                    .element(XMLElement(Self.name("alt-value"), children: [.text($0)]))
                }
                return .element(exists)
            }
        default:
            break
        }
        return XMLElement(
            Self.name("xcap-error"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: Self.namespace)],
            children: [.element(conditionElement)])
    }

    /// The serialized body, with an XML declaration.
    public static func serialize(_ condition: XCAPErrorCondition) -> String {
        XMLSerializer.serialize(Self.element(for: condition), declaration: true)
    }

    private static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
