import PresenceDocuments

/// How a usage takes a document body.
public enum XCAPContentKind: Sendable, Hashable {
    /// An XML document, parsed, validated with `validate(_:)`, and addressable by node selectors.
    case xml
    /// Opaque bytes (an image), checked with `validateBinary(_:contentType:)` and stored as is.
    case binary
}

/// The trees below an AUID a usage keeps documents in (RFC 4825 §6.2).
public struct XCAPTrees: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let users = XCAPTrees(rawValue: 1)
    public static let global = XCAPTrees(rawValue: 2)
}

/// An XCAP application usage (RFC 4825 §5): which documents live under an AUID, their MIME type,
/// the namespace of unprefixed names in node selectors, and the constraints the server enforces
/// on every write (schema and uniqueness, RFC 4825 §5.3, §8.2.5 — as 409 with an xcap-error body).
public protocol XCAPApplicationUsage: Sendable {
    /// The application unique ID (RFC 4825 §5.1), the first path segment below the XCAP root.
    var auid: String { get }
    /// The MIME type of the usage's documents (RFC 4825 §5.4).
    var mimeType: String { get }
    /// The default document namespace (RFC 4825 §5.2): unprefixed element names of a node
    /// selector are in it.
    var defaultNamespace: String { get }
    /// Whether the server alone writes the documents (xcap-caps, xcap-directory): PUT and DELETE
    /// get 405.
    var isReadOnly: Bool { get }
    /// The trees that hold documents of this usage; a URI into another tree names nothing (404).
    var trees: XCAPTrees { get }
    /// The namespaces the usage's documents use, listed in the xcap-caps document.
    var namespaces: [String] { get }
    /// How a body with this Content-Type is taken; nil when the usage does not take it (415).
    func contentKind(forContentType contentType: String) -> XCAPContentKind?
    /// The first violation of the usage's schema or constraints, nil when the document is valid.
    func validate(_ document: XMLElement) -> XCAPOperationError?
    /// For usages that store binary bodies: the first problem with the body, nil when fine.
    func validateBinary(_ body: [UInt8], contentType: String) -> XCAPOperationError?
}

extension XCAPApplicationUsage {
    public var isReadOnly: Bool { false }
    public var trees: XCAPTrees { .users }
    public var namespaces: [String] { [self.defaultNamespace] }

    public func contentKind(forContentType contentType: String) -> XCAPContentKind? {
        XCAPMediaType.matches(contentType, self.mimeType) ? .xml : nil
    }

    public func validateBinary(_ body: [UInt8], contentType: String) -> XCAPOperationError? {
        .unsupportedMediaType(expected: self.mimeType, reason: "\(self.auid) documents are \(self.mimeType)")
    }

    /// Whether documents of this usage can live in `tree`.
    public func supports(_ tree: XCAPURI.Tree) -> Bool {
        switch tree {
        case .global: self.trees.contains(.global)
        case .users: self.trees.contains(.users)
        }
    }
}
