import PresenceDocuments

/// A node's representation for a GET response.
public struct XCAPNodeRepresentation: Sendable, Hashable {
    public var body: String
    public var contentType: String

    public init(body: String, contentType: String) {
        self.body = body
        self.contentType = contentType
    }
}

/// Operations on a node of a stored document — element, attribute or namespace bindings, as the
/// selector's terminal decides — with the usage's checks: read-only usages, the body's MIME type
/// (RFC 4825 §15.2), and the usage's constraints on the resulting document.
///
/// The HTTP layer's part: find the usage by AUID, load the document, parse the selector with
/// `XCAPNodeSelector.parse(_:namespaceBindings:defaultNamespace:)`, call one of these, then store
/// the returned document (answering with `outcome.status`) or turn the thrown error into a
/// response (`status`, `errorDocument`, `allowHeader`).
public enum XCAPNodeOperations {
    public static func get(_ selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> XCAPNodeRepresentation {
        switch selector.terminal {
        case nil:
            XCAPNodeRepresentation(body: try XCAPElementOperations.get(selector, in: document), contentType: XCAPMediaType.element)
        case .attribute:
            XCAPNodeRepresentation(body: try XCAPAttributeOperations.get(selector, in: document), contentType: XCAPMediaType.attribute)
        case .namespaces:
            XCAPNodeRepresentation(body: try XCAPNamespaceOperations.get(selector, in: document), contentType: XCAPMediaType.namespaces)
        }
    }

    /// PUT of an element (`application/xcap-el+xml`) or attribute (`application/xcap-att+xml`).
    ///
    /// - Parameters:
    ///   - contentType: the request's Content-Type; nil skips the check.
    ///   - documentURI: the absolute URI of the document, for no-parent's `<ancestor>`
    ///     (`XCAPURI.documentURI(origin:)`).
    public static func put(
        _ body: [UInt8], contentType: String?, at selector: XCAPNodeSelector, in document: XMLElement,
        documentURI: String, usage: any XCAPApplicationUsage, options: XCAPPutOptions = .strict
    ) throws(XCAPOperationError) -> XCAPWriteResult {
        try Self.requireWritable(usage)
        let result: XCAPWriteResult
        switch selector.terminal {
        case .namespaces:
            throw XCAPNamespaceOperations.writeRefused
        case .attribute:
            try Self.requireContentType(contentType, XCAPMediaType.attribute)
            result = try XCAPAttributeOperations.put(body, at: selector, in: document, documentURI: documentURI)
        case nil:
            try Self.requireContentType(contentType, XCAPMediaType.element)
            result = try XCAPElementOperations.put(body, at: selector, in: document, documentURI: documentURI, options: options)
        }
        if let error = usage.validate(result.document) { throw error }
        return result
    }

    /// DELETE of an element or attribute; returns the document without it.
    public static func delete(
        at selector: XCAPNodeSelector, in document: XMLElement, usage: any XCAPApplicationUsage
    ) throws(XCAPOperationError) -> XMLElement {
        try Self.requireWritable(usage)
        let result: XMLElement
        switch selector.terminal {
        case .namespaces: throw XCAPNamespaceOperations.writeRefused
        case .attribute: result = try XCAPAttributeOperations.delete(at: selector, in: document)
        case nil: result = try XCAPElementOperations.delete(at: selector, in: document)
        }
        if let error = usage.validate(result) { throw error }
        return result
    }

    static func requireWritable(_ usage: any XCAPApplicationUsage) throws(XCAPOperationError) {
        if usage.isReadOnly {
            throw .methodNotAllowed(allowed: ["GET"], reason: "\(usage.auid) documents are maintained by the server")
        }
    }

    static func requireContentType(_ contentType: String?, _ expected: String) throws(XCAPOperationError) {
        guard let contentType, !XCAPMediaType.matches(contentType, expected) else { return }
        throw .unsupportedMediaType(expected: expected, reason: "expected Content-Type \(expected), got \(contentType)")
    }
}
