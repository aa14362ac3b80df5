import Foundation
import HeraldStore
@testable import HeraldStoreSQLite
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
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
    @Test func theSQLiteStoreIsHealthyUntilClosed() async throws {
        let store = try await SQLiteHeraldStore.open(dataDirectory: temporaryDirectory(), logger: Logger(label: "test"))
        try await store.checkHealth()
        try await store.close()
        await #expect(throws: (any Error).self) { try await store.checkHealth() }
    }

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
        // A watcher's NOTIFY body type, when not the package's usual one, is kept too.
        var legacy = subscriptionRecord("s3")
        legacy.notifyContentType = "application/cpim-pidf+xml"
        try await store.saveSubscription(legacy)
        #expect(try await store.allSubscriptions().first { $0.id == "s3" } == legacy)
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

    @Test func writesHandedOverFromTheEngineLoopCompleteOnItAndFailAlone() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let store = try await SQLiteHeraldStore.open(dataDirectory: temporaryDirectory(), logger: Logger(label: "test"), eventLoop: loop)
        let good: [(String, [SQLiteData])] = SQLiteHeraldStore.statements(saving: publication("a"), replacing: nil)
        let bad: [(String, [SQLiteData])] = [("INSERT INTO no_such_table (x) VALUES (1)", [])]
        let alsoGood = SQLiteHeraldStore.statements(saving: publication("b", sequence: 2), replacing: nil)
        // One group of three (rerun with savepoints), then a lone failing statement (autocommit).
        let (onLoop, outcomes) = try await loop.submit {
            let promise = loop.makePromise(of: (Bool, [Bool]).self)
            store.committer.write(groups: [good, bad, alsoGood]) { results in
                let grouped = results.map { (try? $0.get()) != nil }
                store.committer.write(groups: [bad]) { lone in
                    promise.succeed((loop.inEventLoop, grouped + lone.map { (try? $0.get()) != nil }))
                }
            }
            return promise.futureResult
        }.flatMap { $0 }.get()
        #expect(onLoop)
        #expect(outcomes == [true, false, true, false])
        #expect(try await store.allPublications().map(\.entityTag) == ["a", "b"])
        try await store.close()
        try await group.shutdownGracefully()
    }

    @Test func transactionsNeverInterleaveWithGroupCommits() async throws {
        let store = try await SQLiteHeraldStore.open(dataDirectory: temporaryDirectory(), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask { try await store.savePublication(publication("p\(index)", sequence: Int64(index)), replacing: nil) }
                group.addTask {
                    try await store.addUser(UserRecord(username: "u\(index)", domain: "example.com", ha1MD5: "m", ha1SHA256: "s"))
                }
                group.addTask { _ = try await store.removeExpiredBindings(now: 0) }
            }
            try await group.waitForAll()
        }
        #expect(try await store.allPublications().count == 100)
        #expect(try await store.allUsers().count == 100)
        try await store.close()
    }

    @Test func aRefusedPublicationChangeDoesNotUndoTheOthersOfItsMoment() async throws {
        let store = try await SQLiteHeraldStore.open(dataDirectory: temporaryDirectory(), logger: Logger(label: "test"))
        // The batch is one statement; when it fails, each change is tried on its own.
        _ = try await store.connection.query(
            "CREATE TRIGGER refuse BEFORE INSERT ON publications WHEN NEW.entity_tag = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        try await store.savePublication(publication("old", sequence: 1), replacing: nil)
        let results = await store.applyPublicationChanges([
            .save(publication("a", sequence: 2), replacing: "old"),
            .save(publication("bad", sequence: 3), replacing: nil),
            .save(publication("b", sequence: 4), replacing: nil),
        ])
        #expect(results.map { (try? $0.get()) != nil } == [true, false, true])
        #expect(try await store.allPublications().map(\.entityTag) == ["a", "b"])
        try await store.close()
    }

    @Test func closingWaitsForTheWritesAlreadyHandedOver() async throws {
        let directory = temporaryDirectory()
        let store = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        for index in 0..<50 {
            store.applyPublicationChanges([.save(publication("p\(index)", sequence: Int64(index)), replacing: nil)]) { _ in }
        }
        try await store.close()
        let reopened = try await SQLiteHeraldStore.open(dataDirectory: directory, logger: Logger(label: "test"))
        #expect(try await reopened.allPublications().count == 50)
        try await reopened.close()
    }
}
