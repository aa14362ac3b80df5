import Foundation
import HeraldStore
@testable import HeraldStoreSQLite
import Logging
import Testing

func publication(_ tag: String, resource: String = "sip:alice@example.com", expiresAt: Int64 = 100, sequence: Int64 = 1) -> PublicationRecord {
    PublicationRecord(
        entityTag: tag, resource: resource, event: "presence", contentType: "application/pidf+xml", body: Array("<x>\(tag)</x>\u{0}".utf8),
        expiresAt: expiresAt, sequence: sequence)
}

func subscriptionRecord(_ id: String, cseq: UInt32 = 100) -> SubscriptionRecord {
    SubscriptionRecord(
        id: id, event: "presence", eventID: nil, resource: "sip:alice@example.com", resourceURI: "sip:alice@example.com",
        watcher: "sip:bob@example.com", watcherAddress: "<sip:bob@example.com>", watcherDisplayName: "Bob", callID: "c-\(id)",
        localTag: "l", remoteTag: "r", remoteTarget: "sip:bob@192.0.2.1", routeSet: ["<sip:p1;lr>", "<sip:p2;lr>"],
        localCSeqReserved: cseq, remoteCSeq: 1, expiresAt: 1000, status: "active", authorization: "allow",
        destination: "udp:192.0.2.1:5060", createdAt: 1)
}

@Suite struct EventStoreContractTests {
    @Test(arguments: Backend.allCases)
    func publicationsAreReplacedByNewEntityTagsAndExpire(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.savePublication(publication("e1", sequence: 1), replacing: nil)
        try await store.savePublication(publication("e2", expiresAt: 300, sequence: 2), replacing: nil)
        try await store.savePublication(publication("e3", expiresAt: 300, sequence: 3), replacing: "e1")
        #expect(try await store.publication(entityTag: "e1") == nil)
        #expect(try await store.publications(resource: "sip:alice@example.com", event: "presence").map(\.entityTag) == ["e2", "e3"])
        #expect(try await store.publication(entityTag: "e3")?.body == Array("<x>e3</x>\u{0}".utf8))
        #expect(try await store.removePublication(entityTag: "e2")?.entityTag == "e2")
        #expect(try await store.removeExpiredPublications(now: 300).map(\.entityTag) == ["e3"])
        #expect(try await store.allPublications().isEmpty)
        try await store.close()
    }

    @Test(arguments: Backend.allCases)
    func subscriptionsRoundTrip(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.saveSubscription(subscriptionRecord("s1"))
        try await store.saveSubscription(subscriptionRecord("s1", cseq: 200))
        try await store.saveSubscription(subscriptionRecord("s2"))
        let all = try await store.allSubscriptions()
        #expect(all.count == 2)
        #expect(all.first { $0.id == "s1" } == subscriptionRecord("s1", cseq: 200))
        try await store.removeSubscription(id: "s1")
        #expect(try await store.allSubscriptions().map(\.id) == ["s2"])
        try await store.close()
    }

    @Test func concurrentWritesAreGroupCommittedAndAllDurable() async throws {
        let directory = temporaryDirectory()
        let store = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { try await store.savePublication(publication("p\(index)", sequence: Int64(index)), replacing: nil) }
            }
            try await group.waitForAll()
        }
        try await store.close()
        let reopened = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        #expect(try await reopened.allPublications().count == 200)
        try await reopened.close()
    }
    @Test(arguments: Backend.allCases)
    func batchedSubscriptionChangesAreAppliedTogether(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.applySubscriptionChanges(saving: (0..<450).map { subscriptionRecord("s\($0)") }, removing: [])
        // More rows than one statement carries, updates and removals in the same batch.
        try await store.applySubscriptionChanges(
            saving: (400..<450).map { subscriptionRecord("s\($0)", cseq: 300) } + [subscriptionRecord("new")],
            removing: (0..<250).map { "s\($0)" })
        let all = try await store.allSubscriptions()
        #expect(all.count == 201)
        #expect(all.first { $0.id == "s420" }?.localCSeqReserved == 300)
        #expect(all.first { $0.id == "s300" } == subscriptionRecord("s300"))
        #expect(!all.contains { $0.id == "s10" })
        try await store.close()
    }

    @Test func aFailingWriteDoesNotUndoTheOthersInItsGroup() async throws {
        let directory = temporaryDirectory()
        let store = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<100 {
                group.addTask {
                    do {
                        if index == 50 {
                            try await store.write([("INSERT INTO no_such_table (x) VALUES (?)", [.integer(1)])])
                        } else {
                            try await store.savePublication(publication("p\(index)", sequence: Int64(index)), replacing: nil)
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { !$0 }.count == 1)
        try await store.close()
        let reopened = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        #expect(try await reopened.allPublications().count == 99)
        try await reopened.close()
    }
    @Test(arguments: Backend.allCases)
    func publicationChangesOfOneMomentAreAppliedInOrder(_ backend: Backend) async throws {
        let store = try await backend.open(directory: temporaryDirectory())
        try await store.savePublication(publication("old", sequence: 1), replacing: nil)
        let results = await store.applyPublicationChanges([
            .save(publication("e1", sequence: 2), replacing: nil),
            .save(publication("e2", sequence: 3), replacing: "old"),
            .save(publication("e3", sequence: 4), replacing: "e1"),
            .remove(entityTag: "e3"),
        ])
        #expect(results.count == 4)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(try await store.allPublications().map(\.entityTag) == ["e2"])
        try await store.close()
    }
}
