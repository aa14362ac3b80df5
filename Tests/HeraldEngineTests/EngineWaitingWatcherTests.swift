import Foundation
@testable import HeraldEngine
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import Testing

/// RFC 3857 §4.7.1: a watcher's request nobody decides on is pending, then waiting, then given
/// up; and a NOTIFY failure is reported to the presentity like a timeout.
@Suite struct EngineWaitingWatcherTests {
    /// alice's winfo subscription, answered.
    static func ownerWatchesHerWatchers(_ harness: EngineHarness, expires: Int = 86_400) async {
        await harness.send(subscribeRequest(from: "alice", event: "presence.winfo", expires: expires, branch: "z9hG4bKw1", callID: "winfo-1"))
        await harness.answer(harness.requests.last!, status: 200)
    }

    /// `status/event` of each watcher element in the winfo NOTIFYs sent since `index`, in
    /// order (retransmissions left out).
    static func watchers(_ harness: EngineHarness, since index: Int = 0) -> [String] {
        var seen = Set<String>()
        let notifies = harness.requests.dropFirst(index).filter {
            $0.headers["Event"] == "presence.winfo" && seen.insert("\($0.callID ?? "-") \($0.headers["CSeq"] ?? "-")").inserted
        }
        return notifies.flatMap { notify in
            let text = String(decoding: notify.body, as: UTF8.self)
            return text.components(separatedBy: "<watcher ").dropFirst().map { element in
                let tag = element.prefix { $0 != ">" }
                func attribute(_ name: String) -> String {
                    guard let start = tag.range(of: " \(name)=\"") ?? tag.range(of: "\(name)=\"") else { return "" }
                    return String(tag[start.upperBound...].prefix { $0 != "\"" })
                }
                return attribute("status") + "/" + attribute("event")
            }
        }
    }

    /// alice watches her watchers, bob's subscription (`expires`) waits for her, and the clock
    /// moves on by `advance`: bob's first presence NOTIFY after that (unanswered), and the
    /// request count before it.
    static func pendingWatcherAfter(
        _ advance: Int64, expires: Int, _ harness: EngineHarness
    ) async throws -> (final: SIPRequest, before: Int) {
        await Self.ownerWatchesHerWatchers(harness)
        await harness.send(subscribeRequest(expires: expires, branch: "z9hG4bKs1", callID: "sub-1"))
        for request in harness.requests.dropFirst() { await harness.answer(request, status: 200) }
        let before = harness.requests.count
        await harness.advance(by: .seconds(advance))
        let final = try #require(harness.requests.dropFirst(before).first { $0.headers["Event"] == "presence" })
        return (final, before)
    }

    static func allowBob() throws -> XMLElement {
        try EnginePresRulesTests.rules(EnginePresRulesTests.allowBob(""))
    }

    @Test func anExpiredPendingSubscriptionWaitsInWinfoUntilTheOwnerApproves() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm)
        let (final, before) = try await Self.pendingWatcherAfter(61, expires: 60, harness)
        // bob's subscription is over for him ...
        #expect(final.headers["Subscription-State"] == "terminated;reason=timeout")
        await harness.answer(final, status: 200)
        // ... and alice sees him waiting, with no transient "terminated" first (RFC 3857 §4.7.2).
        let afterExpiry = Self.watchers(harness, since: before)
        #expect(afterExpiry.count == 1)
        #expect(afterExpiry == ["waiting/timeout"])
        for request in harness.requests.dropFirst(before) where request.headers["Event"] == "presence.winfo" {
            await harness.answer(request, status: 200)
        }
        #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == 1)
        #expect(await harness.store.allSubscriptions().contains { $0.status == "waiting" })
        #expect(try await harness.engine.snapshot().get().subscriptions["presence"]?["waiting"] == 1)

        // A full winfo document (a new winfo subscription) lists the waiting watcher too.
        await harness.send(subscribeRequest(from: "alice", event: "presence.winfo", branch: "z9hG4bKw2", callID: "winfo-2"))
        let full = String(decoding: try #require(harness.requests.last).body, as: UTF8.self)
        #expect(full.contains("state=\"full\"") && full.contains("status=\"waiting\""))
        await harness.answer(harness.requests.last!, status: 200)

        // alice approves: the waiting request is over (terminated, approved), bob is told nothing
        // (no dialog) and gets the state when he subscribes again.
        let beforeApproval = harness.requests.count
        harness.engine.xcapDocumentChanged(auid: "pres-rules", owner: "sip:alice@example.com", path: "index", document: try Self.allowBob())
        await harness.settle()
        #expect(!harness.requests.dropFirst(beforeApproval).contains { $0.headers["Event"] == "presence" })
        let approved = Self.watchers(harness, since: beforeApproval)
        #expect(approved == ["terminated/approved", "terminated/approved"])  // to both winfo subscriptions
        #expect(await harness.store.allSubscriptions().allSatisfy { $0.status != "waiting" })
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs2", callID: "sub-2"))
        #expect(harness.requests.last { $0.headers["Event"] == "presence" }?.headers["Subscription-State"] == "active;expires=600")
    }

    @Test func theSameWatcherSubscribingAgainReplacesItsWaitingRequest() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm)
        await Self.ownerWatchesHerWatchers(harness)
        await harness.send(subscribeRequest(expires: 60, branch: "z9hG4bKs1", callID: "sub-1"))
        for request in harness.requests.dropFirst() { await harness.answer(request, status: 200) }
        await harness.advance(by: .seconds(61))
        await harness.answerAll(from: 3)
        let before = harness.requests.count
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs2", callID: "sub-2"))
        for request in harness.requests.dropFirst(before) { await harness.answer(request, status: 200) }
        let changes = Self.watchers(harness, since: before)
        #expect(changes.contains("terminated/giveup"))
        #expect(changes.contains("pending/subscribe"))
        #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == 2)
        #expect(await harness.store.allSubscriptions().allSatisfy { $0.status != "waiting" })
    }

    @Test func aRequestStillUndecidedWhenTheWaitRunsOutIsGivenUp() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm, authorizationWait: .seconds(120))
        let (final, before) = try await Self.pendingWatcherAfter(121, expires: 3600, harness)
        #expect(final.headers["Subscription-State"] == "terminated;reason=giveup")
        await harness.answer(final, status: 200)
        #expect(Self.watchers(harness, since: before) == ["terminated/giveup"])
        #expect(await harness.store.allSubscriptions().map(\.event) == ["presence.winfo"])

        // A waiting watcher is given up as well, once its own wait runs out.
        await harness.answerAll(from: before)
        let carolStart = harness.requests.count
        await harness.send(subscribeRequest(from: "carol", expires: 60, branch: "z9hG4bKs2", callID: "sub-2"))
        await harness.answerAll(from: carolStart)
        await harness.advance(by: .seconds(61))
        await harness.answerAll(from: carolStart)
        #expect(await harness.store.allSubscriptions().contains { $0.status == "waiting" })
        let beforeGiveup = harness.requests.count
        // Its wait began when its final NOTIFY was answered, just now.
        await harness.advance(by: .seconds(110))
        #expect(Self.watchers(harness, since: beforeGiveup).isEmpty)
        await harness.advance(by: .seconds(11))
        #expect(Self.watchers(harness, since: beforeGiveup) == ["terminated/giveup"])
        #expect(await harness.store.allSubscriptions().map(\.event) == ["presence.winfo"])
    }

    @Test func aWaitingWatcherSurvivesARestartAndIsGivenUpOnTime() async throws {
        let store = InMemoryHeraldStore()
        let before = EngineHarness(defaultPolicy: .confirm, store: store, authorizationWait: .seconds(300))
        await before.send(subscribeRequest(expires: 60, branch: "z9hG4bKs1", callID: "sub-1"))
        await before.answer(before.requests[0], status: 200)
        await before.advance(by: .seconds(61))
        await before.answer(before.requests.last!, status: 200)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().map(\.status) == ["waiting"])

        let after = EngineHarness(defaultPolicy: .confirm, store: store, authorizationWait: .seconds(300))
        _ = try await after.loop.flatSubmit { after.engine.restore() }.get()
        await Self.ownerWatchesHerWatchers(after)
        #expect(Self.watchers(after) == ["waiting/timeout"])
        #expect(String(decoding: try #require(after.requests.first).body, as: UTF8.self).contains(">sip:bob@example.com</watcher>"))
        // Given up 300 s after it began waiting, at 61 s: the restarted harness's wall clock
        // starts again at the same second, so 361 s from now.
        await after.advance(by: .seconds(350))
        #expect(await store.allSubscriptions().contains { $0.status == "waiting" })
        await after.advance(by: .seconds(20))
        #expect(Self.watchers(after, since: 1) == ["terminated/giveup"])
        #expect(await store.allSubscriptions().allSatisfy { $0.status != "waiting" })
    }

    @Test func aWatcherWhoseNotifyFailsIsReportedAsTimedOut() async throws {
        let harness = EngineHarness(defaultPolicy: .allow)
        await Self.ownerWatchesHerWatchers(harness)
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs1", callID: "sub-1"))
        let notify = try #require(harness.requests.last { $0.headers["Event"] == "presence" })
        for request in harness.requests.dropFirst() where request.headers["Event"] == "presence.winfo" {
            await harness.answer(request, status: 200)
        }
        let before = harness.requests.count
        await harness.answer(notify, status: 481)
        #expect(Self.watchers(harness, since: before) == ["terminated/timeout"])
    }
}

/// Resources that do not exist, or no longer do (RFC 6665 §4.1.3 "noresource"): with user
/// accounts (digest), a resource is a user of a served domain. The watcher's host is trusted,
/// so its requests are not challenged.
@Suite struct EngineNoResourceTests {
    static func harness(store: InMemoryHeraldStore = InMemoryHeraldStore()) async throws -> EngineHarness {
        try await store.addUser(UserRecord(username: "alice", domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        return EngineHarness(authMode: .digest, store: store, trustedHosts: ["192.0.2.10"])
    }

    @Test func aSubscriptionToAUserTheServerDoesNotHaveIs404() async throws {
        let harness = try await Self.harness()
        await harness.send(subscribeRequest().replacingOccurrences(of: "sip:alice@example.com", with: "sip:nobody@example.com"))
        #expect(harness.statuses == [404])
        #expect(harness.sink.responses.last?.reasonPhrase.contains("nobody") == true)
        await harness.send(subscribeRequest(branch: "z9hG4bKs2", callID: "sub-2"))
        #expect(harness.statuses == [404, 200])
    }

    @Test func aRefreshAfterTheUserWasRemovedEndsTheSubscriptionWithNoresource() async throws {
        let harness = try await Self.harness()
        await harness.send(subscribeRequest(expires: 600))
        await harness.answer(harness.requests[0], status: 200)
        let tag = try #require(try harness.sink.responses[0].to().tag)
        _ = await harness.store.removeUser(username: "alice", domain: "example.com")
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs2", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 200)
        #expect(harness.sink.responses.last?.headers["Expires"] == "0")
        #expect(harness.requests.last?.headers["Subscription-State"] == "terminated;reason=noresource")
    }

    @Test func subscriptionsToAUserRemovedWhileTheServerWasDownEndWithNoresource() async throws {
        let store = InMemoryHeraldStore()
        let before = try await Self.harness(store: store)
        await before.send(subscribeRequest(expires: 3600))
        await before.answer(before.requests[0], status: 200)
        try await Task.sleep(for: .milliseconds(50))
        _ = await store.removeUser(username: "alice", domain: "example.com")

        let after = EngineHarness(authMode: .digest, store: store, trustedHosts: ["192.0.2.10"])
        #expect(try await after.loop.flatSubmit { after.engine.restore() }.get().subscriptions == 0)
        await after.settle()
        let final = try #require(after.requests.last)
        #expect(final.callID == "sub-1")
        #expect(final.headers["Subscription-State"] == "terminated;reason=noresource")
        await after.answer(final, status: 200)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().isEmpty)
    }
}

/// Corner cases of the waiting state and of winfo events (found in review).
@Suite struct EngineWatcherEventTests {
    @Test func anApprovedWatchersOldAuthorizationWaitDoesNotGiveItUp() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm, authorizationWait: .seconds(120))
        await harness.send(subscribeRequest(expires: 3600, branch: "z9hG4bKs1", callID: "sub-1"))
        await harness.answerAll()
        harness.engine.xcapDocumentChanged(
            auid: "pres-rules", owner: "sip:alice@example.com", path: "index", document: try EngineWaitingWatcherTests.allowBob())
        await harness.settle()
        await harness.answerAll()
        await harness.advance(by: .seconds(130))
        await harness.answerAll()
        let before = harness.requests.count
        await EngineWaitingWatcherTests.ownerWatchesHerWatchers(harness)
        #expect(EngineWaitingWatcherTests.watchers(harness, since: before) == ["active/approved"])
    }

    @Test func aRejectionWhileANotifyIsInFlightIsNotReportedAsATimeout() async throws {
        let harness = EngineHarness(defaultPolicy: .allow)
        await EngineWaitingWatcherTests.ownerWatchesHerWatchers(harness)
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs1", callID: "sub-1"))
        await harness.answerAll(from: 1)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        let inFlight = try #require(harness.requests.last { $0.headers["Event"] == "presence" })
        let before = harness.requests.count
        let block = try EnginePresRulesTests.rules(
            "<cr:rule id=\"b\"><cr:conditions><cr:identity><cr:one id=\"sip:bob@example.com\"/></cr:identity></cr:conditions>"
                + "<cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>")
        harness.engine.xcapDocumentChanged(auid: "pres-rules", owner: "sip:alice@example.com", path: "index", document: block)
        await harness.settle()
        await harness.answer(inFlight, status: 200)
        await harness.answerAll(from: before)
        let final = try #require(harness.requests.last { $0.headers["Event"] == "presence" })
        #expect(final.headers["Subscription-State"] == "terminated;reason=rejected")
        #expect(EngineWaitingWatcherTests.watchers(harness, since: before) == ["terminated/rejected"])
    }

    @Test func aWatcherWhoSubscribesAgainDuringTheFinalNotifyLeavesNothingWaiting() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm)
        let (final, count) = try await EngineWaitingWatcherTests.pendingWatcherAfter(61, expires: 60, harness)
        #expect(final.headers["Subscription-State"] == "terminated;reason=timeout")
        // bob's phone restarted and subscribes again before the old dialog's final NOTIFY is through.
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKs2", callID: "sub-2"))
        await harness.answer(final, status: 200)
        await harness.answerAll(from: count)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await harness.store.allSubscriptions().allSatisfy { $0.status != "waiting" })
        let changes = EngineWaitingWatcherTests.watchers(harness, since: count)
        #expect(!changes.contains("waiting/timeout"))
        #expect(changes.contains("terminated/giveup"))
    }

    @Test func aPendingWatcherStoredWhileItsTimeoutNotifyWasOutStillEndsUpWaiting() async throws {
        let store = InMemoryHeraldStore()
        let before = EngineHarness(defaultPolicy: .confirm, store: store)
        await before.send(subscribeRequest(expires: 60))
        await before.answerAll()
        try await Task.sleep(for: .milliseconds(50))
        // As stored while its final NOTIFY was on its way when the server stopped.
        var record = try #require(await store.allSubscriptions().first)
        record.status = "terminated"
        record.expiresAt = 1_000_000 - 5
        await store.saveSubscription(record)

        let after = EngineHarness(defaultPolicy: .confirm, store: store)
        _ = try await after.loop.flatSubmit { after.engine.restore() }.get()
        await after.settle()
        let final = try #require(after.requests.last)
        #expect(final.headers["Subscription-State"] == "terminated;reason=timeout")
        await after.answer(final, status: 200)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().map(\.status) == ["waiting"])
    }

    @Test func aStoredSubscriptionThatHadEndedIsNotBroughtBack() async throws {
        let store = InMemoryHeraldStore()
        var record = try await storedSubscription(in: store)
        record.status = "terminated"
        await store.saveSubscription(record)

        let after = EngineHarness(store: store)
        #expect(try await after.loop.flatSubmit { after.engine.restore() }.get().subscriptions == 0)
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().isEmpty)
        #expect(try await after.loop.submit { after.engine.activeSubscriptionCount }.get() == 0)
    }
}

@Suite struct EngineWaitingLimitTests {
    @Test func aWatcherLeavesAtMostTheLimitOfWaitingRequestsBehind() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm, maxWaitingPerWatcher: 2)
        // bob asks to watch three presentities, nobody decides, and his requests expire one by one.
        for (index, presentity) in ["alice", "carol", "dave"].enumerated() {
            await harness.send(
                subscribeRequest(expires: 60, branch: "z9hG4bKs\(index)", callID: "sub-\(presentity)")
                    .replacingOccurrences(of: "sip:alice@example.com", with: "sip:\(presentity)@example.com"))
            await harness.answerAll()
            await harness.advance(by: .seconds(20))
        }
        await harness.advance(by: .seconds(61))
        await harness.answerAll()
        try await Task.sleep(for: .milliseconds(50))
        // The oldest (alice's) was given up when the third began waiting.
        let waiting = await harness.store.allSubscriptions().filter { $0.status == "waiting" }.map(\.resource).sorted()
        #expect(waiting == ["sip:carol@example.com", "sip:dave@example.com"])
    }
}
