import PresenceDocuments

/// The OMA XCAP directory (`org.openmobilealliance.xcap-directory`, OMA XDM Core): a read-only
/// per-user document, `directory.xml`, listing the user's documents by AUID. RCS clients fetch
/// it first (seed 001):
///
///     <xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">
///       <folder auid="rls-services"><entry uri="…/rls-services/users/…/index" etag="e1"/></folder>
///       <folder auid="resource-lists"/>
///     </xcap-directory>
public struct XCAPDirectoryUsage: XCAPApplicationUsage {
    public static let auid = "org.openmobilealliance.xcap-directory"
    public static let namespace = "urn:oma:xml:xdm:xcap-directory"
    public static let mimeType = "application/vnd.oma.xcap-directory+xml"
    /// The name of the directory document in a user's tree.
    public static let documentName = "directory.xml"

    /// One document in a folder.
    public struct Entry: Sendable, Hashable {
        /// The document's URI (absolute, or as the server chooses to name it).
        public var uri: String
        public var etag: String
        /// An `xs:dateTime`, e.g. `2014-06-19T15:30:47Z`.
        public var lastModified: String?
        /// The document's size in bytes.
        public var size: Int?

        public init(uri: String, etag: String, lastModified: String? = nil, size: Int? = nil) {
            self.uri = uri
            self.etag = etag
            self.lastModified = lastModified
            self.size = size
        }
    }

    /// The documents of one application usage.
    public struct Folder: Sendable, Hashable {
        public var auid: String
        public var entries: [Entry]

        public init(auid: String, entries: [Entry] = []) {
            self.auid = auid
            self.entries = entries
        }
    }

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }
    public var isReadOnly: Bool { true }

    public init() {}

    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        XCAPValidation.requireRoot(document, Self.name("xcap-directory"))
    }

    /// The directory document, folders and entries in the order given.
    public static func document(folders: [Folder]) -> XMLElement {
        let folderNodes: [XMLNode] = folders.map { folder in
            let entries: [XMLNode] = folder.entries.map { entry in
                var element = XMLElement(Self.name("entry"))
                element.setAttribute("uri", entry.uri)
                element.setAttribute("etag", entry.etag)
                if let lastModified = entry.lastModified { element.setAttribute("last-modified", lastModified) }
                if let size = entry.size { element.setAttribute("size", String(size)) }
                return .element(element)
            }
            return .element(XMLElement(Self.name("folder"), attributes: [XMLAttribute(XMLName("", "auid"), folder.auid)], children: entries))
        }
        return XMLElement(
            Self.name("xcap-directory"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: Self.namespace)],
            children: folderNodes)
    }

    static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
