import Foundation
import HeraldStore
import HeraldStoreSQLite
import Logging
import Testing

/// One contract, run against every backend.
enum Backend: String, CaseIterable, Sendable {
    case memory, sqlite

    func open(directory: String) async throws -> any HeraldStore {
        switch self {
        case .memory: return InMemoryHeraldStore()
        case .sqlite: return try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        }
    }
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "herald-store-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let alice = UserRecord(username: "alice", domain: "Example.COM", ha1MD5: "md5", ha1SHA256: "sha")

@Suite struct StoreContractTests {
    @Test(arguments: Backend.allCases)
    func usersAreAddedFoundListedAndRemoved(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.addUser(alice)
        await #expect(throws: StoreError.alreadyExists("user alice@example.com")) { try await store.addUser(alice) }
        #expect(try await store.user(username: "alice", domain: "example.com") == alice)
        #expect(try await store.user(username: "Alice", domain: "example.com") == nil)
        #expect(try await store.allUsers().map(\.addressOfRecord) == ["alice@example.com"])
        var changed = alice
        changed.ha1MD5 = "other"
        try await store.saveUser(changed)
        #expect(try await store.user(username: "alice", domain: "example.com")?.ha1MD5 == "other")
        #expect(try await store.removeUser(username: "alice", domain: "EXAMPLE.com"))
        #expect(try await !store.removeUser(username: "alice", domain: "example.com"))
        #expect(try await store.allUsers().isEmpty)
        try await store.close()
    }

    @Test(arguments: Backend.allCases)
    func bindingsAreReplacedAtomicallyAndExpire(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        let aor = "sip:alice@example.com"
        let first = BindingRecord(
            addressOfRecord: aor, contactURI: "sip:alice@192.0.2.1", contactHeader: "<sip:alice@192.0.2.1>;+sip.instance=\"<urn:uuid:1>\"",
            callID: "c1", cseq: 1, expiresAt: 100, qValue: 0.5, path: ["<sip:p1;lr>", "<sip:p2;lr>"], receivedFrom: "udp:192.0.2.1:5060")
        var second = first
        second.contactURI = "sip:alice@192.0.2.2"
        second.expiresAt = 200
        second.qValue = nil
        try await store.replaceBindings(addressOfRecord: aor, with: [first, second])
        #expect(try await store.bindings(addressOfRecord: aor) == [first, second])
        let expired = try await store.removeExpiredBindings(now: 150)
        #expect(expired == [first])
        #expect(try await store.bindings(addressOfRecord: aor) == [second])
        try await store.replaceBindings(addressOfRecord: aor, with: [])
        #expect(try await store.allBindings().isEmpty)
        try await store.close()
    }
}

extension StoreContractTests {
    @Test(arguments: Backend.allCases)
    func forwardingRulesAreSetReadClearedAndGoWithTheUser(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.addUser(alice)
        #expect(try await store.forwardingRules(username: "alice", domain: "example.com") == nil)
        let rules = ForwardingRules(busy: "sip:voicemail@example.com", noAnswer: "sip:bob@example.com", noAnswerSeconds: 12)
        try await store.setForwardingRules(rules, username: "alice", domain: "EXAMPLE.com")
        #expect(try await store.forwardingRules(username: "alice", domain: "example.com") == rules)
        try await store.setForwardingRules(ForwardingRules(), username: "alice", domain: "example.com")
        #expect(try await store.forwardingRules(username: "alice", domain: "example.com") == nil)
        try await store.setForwardingRules(rules, username: "alice", domain: "example.com")
        _ = try await store.removeUser(username: "alice", domain: "example.com")
        #expect(try await store.forwardingRules(username: "alice", domain: "example.com") == nil)
        try await store.close()
    }
}

extension StoreContractTests {
    @Test(arguments: Backend.allCases)
    func xcapDocumentsAreWrittenOnlyOverTheETagThatWasRead(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        let owner = "sip:alice@example.com"
        let first = XCAPDocumentRecord(
            auid: "resource-lists", owner: owner, path: "index", contentType: "application/resource-lists+xml", body: Array("<a/>".utf8),
            etag: "e1", modifiedAt: 10)
        try await store.replaceXCAPDocument(auid: "resource-lists", owner: owner, path: "index", expectedETag: nil, with: first)
        // A second create, or an update over a stale tag, is a conflict.
        await #expect(throws: XCAPWriteConflict.documentChanged) {
            try await store.replaceXCAPDocument(auid: "resource-lists", owner: owner, path: "index", expectedETag: nil, with: first)
        }
        var second = first
        second.etag = "e2"
        second.body = Array("<b/>".utf8)
        try await store.replaceXCAPDocument(auid: "resource-lists", owner: owner, path: "index", expectedETag: "e1", with: second)
        await #expect(throws: XCAPWriteConflict.documentChanged) {
            try await store.replaceXCAPDocument(auid: "resource-lists", owner: owner, path: "index", expectedETag: "e1", with: first)
        }
        #expect(try await store.xcapDocument(auid: "resource-lists", owner: owner, path: "index") == second)
        var rules = second
        rules.auid = "pres-rules"
        try await store.replaceXCAPDocument(auid: "pres-rules", owner: owner, path: "index", expectedETag: nil, with: rules)
        #expect(try await store.xcapDocuments(owner: owner).map(\.auid) == ["pres-rules", "resource-lists"])
        #expect(try await store.xcapDocuments(auid: "pres-rules").count == 1)
        try await store.replaceXCAPDocument(auid: "resource-lists", owner: owner, path: "index", expectedETag: "e2", with: nil)
        #expect(try await store.xcapDocument(auid: "resource-lists", owner: owner, path: "index") == nil)
        try await store.close()
    }
}

@Suite struct SQLiteStoreTests {
    @Test func dataSurvivesReopeningTheFile() async throws {
        let directory = temporaryDirectory()
        let store = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        try await store.addUser(alice)
        try await store.close()
        let reopened = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        #expect(try await reopened.user(username: "alice", domain: "example.com") == alice)
        #expect(try await reopened.schemaVersion() == 8)
        try await reopened.close()
    }

    @Test func journalIsWriteAheadLog() async throws {
        let directory = temporaryDirectory()
        let store = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        try await store.addUser(alice)
        #expect(FileManager.default.fileExists(atPath: directory + "/herald.sqlite-wal"))
        try await store.close()
    }

    @Test func concurrentTransactionsDoNotInterleave() async throws {
        let store = try await SQLiteHeraldStore.open(dataDirectory: temporaryDirectory(), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await store.addUser(UserRecord(username: "u\(index)", domain: "example.com", ha1MD5: "m", ha1SHA256: "s"))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.allUsers().count == 20)
        try await store.close()
    }
}
