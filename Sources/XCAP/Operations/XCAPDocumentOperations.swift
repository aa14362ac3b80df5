import PresenceDocuments

/// A document body accepted for storage.
public enum XCAPDocumentBody: Sendable, Hashable {
    /// An XML document, valid for its usage; store its serialization.
    case xml(XMLElement)
    /// Opaque bytes with their Content-Type (pres-content images).
    case binary([UInt8], contentType: String)
}

/// Whole-document PUT (RFC 4825 §8.2): the checks before a body replaces or creates a document.
public enum XCAPDocumentOperations {
    /// Checks and parses the body of a document PUT for `usage`.
    ///
    /// 405 for read-only usages; 415 when the usage does not take the Content-Type; for XML,
    /// 409 not-utf-8 / not-well-formed and the usage's schema and uniqueness conditions.
    ///
    /// - Parameter contentType: the request's Content-Type; nil is taken as the usage's MIME type.
    public static func acceptPut(
        _ body: [UInt8], contentType: String?, usage: any XCAPApplicationUsage, limits: XMLLimits = XMLLimits()
    ) throws(XCAPOperationError) -> XCAPDocumentBody {
        try XCAPNodeOperations.requireWritable(usage)
        let contentType = contentType ?? usage.mimeType
        switch usage.contentKind(forContentType: contentType) {
        case nil:
            throw .unsupportedMediaType(
                expected: usage.mimeType, reason: "\(usage.auid) documents are \(usage.mimeType), got \(contentType)")
        case .binary:
            if let error = usage.validateBinary(body, contentType: contentType) { throw error }
            return .binary(body, contentType: contentType)
        case .xml:
            let document = try XCAPBodyParser.parseDocument(body, limits: limits)
            if let error = usage.validate(document) { throw error }
            return .xml(document)
        }
    }

    /// A document DELETE is refused only for read-only usages.
    public static func checkDelete(usage: any XCAPApplicationUsage) throws(XCAPOperationError) {
        try XCAPNodeOperations.requireWritable(usage)
    }
}
