/// Why a request path is not an XCAP resource URI (RFC 4825 §6).
public enum XCAPURIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path does not start with the configured XCAP root.
    case outsideXCAPRoot(path: String, xcapRoot: String)
    /// Nothing follows the XCAP root.
    case missingAUID
    /// The AUID is not followed by `global` or `users` (RFC 4825 §6.2).
    case missingTree(auid: String)
    /// The segment after the AUID is neither `global` nor `users`.
    case unknownTree(String)
    /// `users/` is not followed by an XUI.
    case missingXUI
    /// The URI names a tree or a user's home but no document.
    case missingDocument
    /// Two slashes in a row, or a trailing slash.
    case emptySegment
    /// A `%` escape that is not two hex digits, or escapes that decode to bytes that are not UTF-8.
    case invalidPercentEncoding(String)
    /// `.`, `..`, or a segment that decodes to text containing `/` or NUL: never a document name.
    case forbiddenSegment(String)
    /// `~~` with no node selector after it.
    case emptyNodeSelector
    /// A query that is not a sequence of `xmlns(prefix=namespace)` parts (RFC 4825 §6.4).
    case invalidNamespaceBinding(String)

    public var description: String { self.reason }

    /// A human-readable reason, suitable for a response's reason phrase or log line.
    public var reason: String {
        switch self {
        case .outsideXCAPRoot(let path, let root): "path '\(path)' is not under the XCAP root '\(root)'"
        case .missingAUID: "no application unique ID after the XCAP root"
        case .missingTree(let auid): "no 'global' or 'users' segment after AUID '\(auid)'"
        case .unknownTree(let segment): "'\(segment)' is neither 'global' nor 'users'"
        case .missingXUI: "no XCAP user identifier after 'users'"
        case .missingDocument: "the URI names no document"
        case .emptySegment: "empty path segment"
        case .invalidPercentEncoding(let text): "invalid percent-encoding or non-UTF-8 bytes in '\(text)'"
        case .forbiddenSegment(let segment): "forbidden path segment '\(segment)'"
        case .emptyNodeSelector: "'~~' is not followed by a node selector"
        case .invalidNamespaceBinding(let text): "invalid xmlns() namespace binding in query: \(text)"
        }
    }

    /// The HTTP status for the error: 404 when the URI names no XCAP resource (RFC 4825 §6),
    /// 400 when it cannot be decoded at all.
    public var httpStatus: Int {
        switch self {
        case .invalidPercentEncoding, .invalidNamespaceBinding: 400
        default: 404
        }
    }
}
