/// An XCAP resource URI split into its parts (RFC 4825 §6):
///
///     xcap-root / auid / ("global" | "users" / xui) / document-path [ "/~~/" node-selector ] [ "?" xmlns-query ]
///
/// Every path segment is percent-decoded on its own, so an XUI written
/// `sip%3A%2B339012341234%40Test-rcs.com` reads `sip:+339012341234@Test-rcs.com`. The node
/// selector is everything after the `~~` segment, decoded as one string (its attribute values may
/// contain `/`); parse it with `XCAPNodeSelector.parse` once the application usage is known.
public struct XCAPURI: Sendable, Hashable {
    /// Which tree below the AUID holds the document (RFC 4825 §6.2).
    public enum Tree: Sendable, Hashable {
        /// Documents that apply to all users.
        case global
        /// The documents of the user named by the XUI (decoded, as the client wrote it).
        case users(xui: String)
    }

    /// The XCAP root the path was parsed against, normalized to start with `/` and end without one
    /// (`""` for a root at `/`).
    public var xcapRoot: String
    /// The application unique ID (RFC 4825 §5.1), e.g. `resource-lists`.
    public var auid: String
    public var tree: Tree
    /// The decoded path segments of the document below the tree (and XUI); never empty. Documents
    /// may live in sub-directories: `oma_status-icon/rcs_status_icon` is two segments.
    public var documentPath: [String]
    /// The decoded node selector after `~~/` (RFC 4825 §6.3), nil when the URI names a document.
    public var nodeSelector: String?
    /// Prefix bindings from the query's `xmlns(prefix=uri)` parts (RFC 4825 §6.4).
    public var namespaceBindings: [String: String]

    public init(
        xcapRoot: String = "", auid: String, tree: Tree, documentPath: [String], nodeSelector: String? = nil,
        namespaceBindings: [String: String] = [:]
    ) {
        self.xcapRoot = xcapRoot
        self.auid = auid
        self.tree = tree
        self.documentPath = documentPath
        self.nodeSelector = nodeSelector
        self.namespaceBindings = namespaceBindings
    }

    /// The XUI for documents in the users tree, nil in the global tree.
    public var xui: String? {
        if case .users(let xui) = self.tree { return xui }
        return nil
    }

    /// A key that names the same user however the client capitalized the scheme and host of
    /// the XUI (seed 001 writes both `Test-rcs.com` and `test-rcs.com`); nil in the global tree.
    public var userKey: String? { self.xui.map(XCAPUserKey.normalize) }

    /// The decoded document path joined with `/`, e.g. `index` or `oma_status-icon/rcs_status_icon`.
    public var documentName: String { self.documentPath.joined(separator: "/") }

    /// The percent-encoded path of the document, starting at the XCAP root:
    /// `/resource-lists/users/sip%3A%2B33…%40Test-rcs.com/index`.
    public var documentURIPath: String {
        var segments = [self.auid]
        switch self.tree {
        case .global: segments.append("global")
        case .users(let xui): segments += ["users", xui]
        }
        segments += self.documentPath
        return self.xcapRoot + "/" + segments.map(XCAPPercentEncoding.encodeSegment).joined(separator: "/")
    }

    /// The absolute URI of the document: `origin` (scheme, host and port, e.g.
    /// `http://192.168.1.2:8080`) followed by `documentURIPath`.
    public func documentURI(origin: String) -> String {
        Self.trimmingTrailingSlash(origin) + self.documentURIPath
    }

    /// Parses a request path (still percent-encoded, as it came off the wire) and its query.
    ///
    /// - Parameters:
    ///   - path: the request path, e.g. `/resource-lists/users/sip%3A…/index/~~/resource-lists`.
    ///     When `query` is nil and the path holds a `?`, the part after it is taken as the query.
    ///   - query: the raw query string without `?`, holding `xmlns()` bindings (RFC 4825 §6.4).
    ///   - xcapRoot: the path of the XCAP root on this server (`/`, `""` or e.g. `/xcap-root`).
    public static func parse(path: String, query: String? = nil, xcapRoot: String = "/") throws(XCAPURIError) -> XCAPURI {
        var path = Substring(path)
        var query = query.map { Substring($0) }
        if query == nil, let mark = path.firstIndex(of: "?") {
            query = path[path.index(after: mark)...]
            path = path[..<mark]
        }
        let root = Self.normalizedRoot(xcapRoot)
        guard path.hasPrefix(root) else { throw .outsideXCAPRoot(path: String(path), xcapRoot: xcapRoot) }
        var rest = path.dropFirst(root.count)
        guard rest.first == "/" else {
            if rest.isEmpty { throw .missingAUID }
            throw .outsideXCAPRoot(path: String(path), xcapRoot: xcapRoot)
        }
        rest = rest.dropFirst()
        guard !rest.isEmpty else { throw .missingAUID }

        let rawSegments = rest.split(separator: "/", omittingEmptySubsequences: false)
        var segments = [String]()
        var nodeSelector: String?
        for (index, raw) in rawSegments.enumerated() {
            guard let decoded = XCAPPercentEncoding.decode(raw) else { throw .invalidPercentEncoding(String(raw)) }
            if decoded == "~~" {
                let selectorParts = rawSegments[(index + 1)...]
                let rawSelector = selectorParts.joined(separator: "/")
                guard !rawSelector.isEmpty else { throw .emptyNodeSelector }
                guard let selector = XCAPPercentEncoding.decode(rawSelector) else {
                    throw .invalidPercentEncoding(rawSelector)
                }
                nodeSelector = selector
                break
            }
            segments.append(decoded)
        }

        var uri = try Self.split(segments)
        uri.xcapRoot = root
        uri.nodeSelector = nodeSelector
        if let query, !query.isEmpty {
            guard let decodedQuery = XCAPPercentEncoding.decode(query) else { throw .invalidPercentEncoding(String(query)) }
            uri.namespaceBindings = try XCAPNamespaceBindings.parse(decodedQuery)
        }
        return uri
    }

    /// auid / tree [/ xui] / document-path, from decoded segments.
    private static func split(_ segments: [String]) throws(XCAPURIError) -> XCAPURI {
        guard let auid = segments.first, !auid.isEmpty else {
            throw segments.count > 1 ? .emptySegment : .missingAUID
        }
        try Self.checkDocumentSegment(auid)
        guard segments.count >= 2 else { throw .missingTree(auid: auid) }
        let tree: Tree
        let documentStart: Int
        switch segments[1] {
        case "global":
            tree = .global
            documentStart = 2
        case "users":
            guard segments.count >= 3 else { throw .missingXUI }
            let xui = segments[2]
            guard !xui.isEmpty else { throw segments.count > 3 ? .emptySegment : .missingXUI }
            guard !xui.unicodeScalars.contains("\0"), xui != ".", xui != ".." else { throw .forbiddenSegment(xui) }
            tree = .users(xui: xui)
            documentStart = 3
        case "":
            throw .emptySegment
        default:
            throw .unknownTree(segments[1])
        }
        let documentPath = Array(segments[documentStart...])
        guard !documentPath.isEmpty, documentPath != [""] else { throw .missingDocument }
        for segment in documentPath { try Self.checkDocumentSegment(segment) }
        return XCAPURI(auid: auid, tree: tree, documentPath: documentPath)
    }

    /// Document names become storage keys: no empty, dot or slash-carrying segments.
    private static func checkDocumentSegment(_ segment: String) throws(XCAPURIError) {
        if segment.isEmpty { throw .emptySegment }
        if segment == "." || segment == ".." || segment.contains("/") || segment.unicodeScalars.contains("\0") {
            throw .forbiddenSegment(segment)
        }
    }

    /// `""`, `/` → `""`; `xcap-root/` → `/xcap-root`.
    static func normalizedRoot(_ root: String) -> String {
        var root = Self.trimmingTrailingSlash(root)
        if !root.isEmpty, !root.hasPrefix("/") { root = "/" + root }
        return root
    }

    private static func trimmingTrailingSlash(_ text: String) -> String {
        var text = Substring(text)
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
