import HeraldStore
import NIOCore
import SQLiteNIO

extension SQLiteHeraldStore {
    public func xcapDocument(auid: String, owner: String, path: String) async throws -> XCAPDocumentRecord? {
        try await self.read {
            try await self.connection.query(
                "SELECT * FROM xcap_documents WHERE auid = ? AND owner = ? AND path = ?", [.text(auid), .text(owner), .text(path)]
            ).first.map(Self.decodeXCAPDocument)
        }
    }

    public func xcapDocuments(owner: String) async throws -> [XCAPDocumentRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM xcap_documents WHERE owner = ? ORDER BY auid, path", [.text(owner)])
                .map(Self.decodeXCAPDocument)
        }
    }

    public func xcapDocuments(auid: String) async throws -> [XCAPDocumentRecord] {
        try await self.read {
            try await self.connection.query("SELECT * FROM xcap_documents WHERE auid = ? ORDER BY owner, path", [.text(auid)])
                .map(Self.decodeXCAPDocument)
        }
    }

    public func replaceXCAPDocument(auid: String, owner: String, path: String, expectedETag: String?, with document: XCAPDocumentRecord?) async throws {
        let key: [SQLiteData] = [.text(auid), .text(owner), .text(path)]
        try await self.transaction {
            let current = try await self.connection.query("SELECT etag FROM xcap_documents WHERE auid = ? AND owner = ? AND path = ?", key)
                .first?.column("etag")?.string
            guard current == expectedETag else { throw XCAPWriteConflict.documentChanged }
            guard let document else {
                _ = try await self.connection.query("DELETE FROM xcap_documents WHERE auid = ? AND owner = ? AND path = ?", key)
                return
            }
            _ = try await self.connection.query(
                """
                INSERT OR REPLACE INTO xcap_documents (auid, owner, path, content_type, body, etag, modified_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                key + [.text(document.contentType), .blob(ByteBuffer(bytes: document.body)), .text(document.etag), .integer(Int(document.modifiedAt))])
        }
    }

    static func decodeXCAPDocument(_ row: SQLiteRow) -> XCAPDocumentRecord {
        XCAPDocumentRecord(
            auid: row.column("auid")?.string ?? "", owner: row.column("owner")?.string ?? "", path: row.column("path")?.string ?? "",
            contentType: row.column("content_type")?.string ?? "", body: row.column("body")?.blob.map { Array($0.readableBytesView) } ?? [],
            etag: row.column("etag")?.string ?? "", modifiedAt: Int64(row.column("modified_at")?.integer ?? 0))
    }
}
