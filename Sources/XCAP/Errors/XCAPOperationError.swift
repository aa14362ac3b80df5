/// Why an XCAP operation on a document failed, with the HTTP response it calls for.
public enum XCAPOperationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 404: the node does not exist, or the selector selects more than one (RFC 4825 §8.3).
    case notFound(reason: String)
    /// 409 with an `application/xcap-error+xml` body (RFC 4825 §11).
    case conflict(XCAPErrorCondition)
    /// 405: the resource cannot be changed this way; `allowed` goes into the Allow header
    /// (namespace bindings can only be fetched, RFC 4825 §7.10; read-only usages likewise).
    case methodNotAllowed(allowed: [String], reason: String)
    /// 415: the body's MIME type is not the one the resource takes (RFC 4825 §8.2).
    case unsupportedMediaType(expected: String, reason: String)
    /// 413: the body exceeds the configured limits.
    case payloadTooLarge(reason: String)
    /// 400: the request cannot be understood (e.g. a malformed node selector).
    case badRequest(reason: String)

    public var description: String { "\(self.status) \(self.reason)" }

    public var status: Int {
        switch self {
        case .notFound: 404
        case .conflict: 409
        case .methodNotAllowed: 405
        case .unsupportedMediaType: 415
        case .payloadTooLarge: 413
        case .badRequest: 400
        }
    }

    /// A human-readable reason for logs and reason phrases.
    public var reason: String {
        switch self {
        case .notFound(let reason), .methodNotAllowed(_, let reason), .unsupportedMediaType(_, let reason),
            .payloadTooLarge(let reason), .badRequest(let reason):
            reason
        case .conflict(let condition):
            condition.phrase.map { "\(condition.elementName): \($0)" } ?? condition.elementName
        }
    }

    /// The `application/xcap-error+xml` body for a 409, nil for the other statuses.
    public var errorDocument: String? {
        guard case .conflict(let condition) = self else { return nil }
        return XCAPErrorDocument.serialize(condition)
    }

    /// The value of the Allow header for a 405, nil otherwise.
    public var allowHeader: String? {
        guard case .methodNotAllowed(let allowed, _) = self else { return nil }
        return allowed.joined(separator: ", ")
    }
}

extension XCAPNodeSelectorError {
    /// A selector that does not parse names no resource: 400 (the request cannot be understood).
    public var operationError: XCAPOperationError { .badRequest(reason: self.reason) }
}
