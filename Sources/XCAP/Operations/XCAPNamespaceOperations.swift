import PresenceDocuments

/// Namespace bindings (`…/namespace::*`, RFC 4825 §6.3): the only operation is GET. The
/// representation, `application/xcap-ns+xml` (RFC 4825 §15.2.3), is the selected element with
/// no attributes and no content, declaring every namespace binding in scope at it:
///
///     <list xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:…:common-policy"/>
public enum XCAPNamespaceOperations {
    public static func get(_ selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> String {
        guard selector.terminal == .namespaces else {
            throw .badRequest(reason: "'\(selector)' does not select namespace bindings")
        }
        guard case .namespaces(let path) = selector.select(in: document), let element = document.element(at: path),
            let declarations = document.inScopeNamespaceDeclarations(at: path)
        else {
            throw .notFound(reason: "no element selected by '\(selector.elementSelector)'")
        }
        let bindings = XMLElement(element.name, prefix: element.prefix, namespaceDeclarations: declarations)
        return XMLSerializer.serialize(bindings, declaration: false)
    }

    /// Namespace bindings cannot be written (RFC 4825 §8): 405 with `Allow: GET`.
    public static var writeRefused: XCAPOperationError {
        .methodNotAllowed(allowed: ["GET"], reason: "namespace bindings can only be fetched")
    }
}
