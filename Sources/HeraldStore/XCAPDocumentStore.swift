/// One XCAP document (RFC 4825 §6.2): an application usage's document in the global tree
/// (`owner` empty) or in a user's home directory.
public struct XCAPDocumentRecord: Sendable, Equatable {
    public var auid: String
    /// The user key (`sip:user@domain`, domain lowercased) or "" for `global/`.
    public var owner: String
    /// The path below the user's (or global) directory, e.g. `index` or `buddies/list.xml`.
    public var path: String
    public var contentType: String
    public var body: [UInt8]
    /// The strong entity tag of this version (RFC 4825 §7.11).
    public var etag: String
    /// Seconds since 1970.
    public var modifiedAt: Int64

    public init(auid: String, owner: String, path: String, contentType: String, body: [UInt8], etag: String, modifiedAt: Int64) {
        self.auid = auid
        self.owner = owner
        self.path = path
        self.contentType = contentType
        self.body = body
        self.etag = etag
        self.modifiedAt = modifiedAt
    }
}

/// Why a conditional XCAP write did not happen.
public enum XCAPWriteConflict: Error, Sendable, Equatable {
    /// The document changed (or appeared, or vanished) since it was read.
    case documentChanged
}

/// XCAP documents. Every change is a compare-and-swap on the entity tag that was read, in one
/// transaction, so two clients editing one document never lose an update (RFC 4825 §7.11).
public protocol XCAPDocumentStore: Sendable {
    func xcapDocument(auid: String, owner: String, path: String) async throws -> XCAPDocumentRecord?
    /// Every document of a user (for the xcap-directory) or, with `auid`, of one usage.
    func xcapDocuments(owner: String) async throws -> [XCAPDocumentRecord]
    func xcapDocuments(auid: String) async throws -> [XCAPDocumentRecord]
    /// Writes `document` (nil deletes) at its key if the stored entity tag is still `expectedETag`
    /// (nil: the document must not exist); throws `XCAPWriteConflict` otherwise.
    func replaceXCAPDocument(auid: String, owner: String, path: String, expectedETag: String?, with document: XCAPDocumentRecord?) async throws
}
