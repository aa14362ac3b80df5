@testable import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Testing

/// Several subscriptions in one dialog (RFC 6665 §4.5.2): alice watches her own presence and,
/// with a SUBSCRIBE in the same dialog, her watcher information.
@Suite struct EngineDialogSharingTests {
    static func ownSubscribe(event: String, branch: String, toTag: String? = nil, cseq: Int, expires: Int = 3600) -> String {
        subscribeRequest(from: "alice", event: event, expires: expires, branch: branch, callID: "shared-1", toTag: toTag, cseq: cseq)
    }

    /// alice's presence subscription and, in its dialog, her winfo subscription; every NOTIFY answered.
    static func twoSubscriptionsInOneDialog(_ harness: EngineHarness) async throws -> String {
        await harness.send(ownSubscribe(event: "presence", branch: "z9hG4bKs1", cseq: 1))
        let tag = try #require(try harness.sink.responses[0].to().tag)
        await harness.answer(harness.requests[0], status: 200)
        await harness.send(ownSubscribe(event: "presence.winfo", branch: "z9hG4bKs2", toTag: tag, cseq: 2))
        for request in harness.requests.dropFirst() { await harness.answer(request, status: 200) }
        return tag
    }

    @Test func aSubscribeInTheDialogForAnotherEventAddsASubscriptionThatSharesTheDialog() async throws {
        let harness = EngineHarness()
        await harness.send(Self.ownSubscribe(event: "presence", branch: "z9hG4bKs1", cseq: 1))
        let tag = try #require(try harness.sink.responses[0].to().tag)
        #expect(harness.requests.count == 1)

        // The presence NOTIFY is still unanswered: the winfo one waits behind it, so that the
        // two cannot arrive out of CSeq order.
        await harness.send(Self.ownSubscribe(event: "presence.winfo", branch: "z9hG4bKs2", toTag: tag, cseq: 2))
        #expect(harness.statuses == [200, 200])
        #expect(try harness.sink.responses[1].to().tag == tag)
        #expect(harness.requests.count == 1)
        await harness.answer(harness.requests[0], status: 200)
        #expect(harness.requests.count == 2)
        let winfo = harness.requests[1]
        #expect(winfo.headers["Event"] == "presence.winfo")
        #expect(winfo.callID == "shared-1")
        #expect(try winfo.from().tag == tag)
        #expect(try winfo.to().tag == "w-alice")
        await harness.answer(winfo, status: 200)

        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        await harness.answer(harness.requests.last!, status: 200)
        // One CSeq space for the dialog (RFC 3261 §12.2.1.1): 1, 2, 3 across both subscriptions.
        #expect(try harness.requests.map { try $0.cseq().sequenceNumber } == [1, 2, 3])
        #expect(harness.requests.last?.headers["Event"] == "presence")

        // Ending one leaves the other in the dialog.
        await harness.send(Self.ownSubscribe(event: "presence.winfo", branch: "z9hG4bKs3", toTag: tag, cseq: 3, expires: 0))
        #expect(harness.statuses.last == 200)
        let final = try #require(harness.requests.last)
        #expect(final.headers["Event"] == "presence.winfo")
        #expect(final.headers["Subscription-State"] == "terminated;reason=timeout")
        await harness.answer(final, status: 200)
        await harness.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKp2"))
        let later = try #require(harness.requests.last)
        #expect(later.headers["Event"] == "presence")
        #expect(try later.cseq().sequenceNumber == 5)
        #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == 1)
    }

    @Test func theDialogsSubscribeCSeqsRiseAcrossItsSubscriptions() async throws {
        let harness = EngineHarness()
        let tag = try await Self.twoSubscriptionsInOneDialog(harness)
        // CSeq 2 was the winfo SUBSCRIBE's: a presence refresh with it is out of order (RFC 3261 §12.2.2).
        await harness.send(Self.ownSubscribe(event: "presence", branch: "z9hG4bKs3", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 500)
        await harness.send(Self.ownSubscribe(event: "presence", branch: "z9hG4bKs4", toTag: tag, cseq: 3))
        #expect(harness.statuses.last == 200)
    }

    @Test func a481EndsOneSubscriptionAndA404TheWholeDialog() async throws {
        // RFC 5057 §5.1: 481 is about the usage; 404 says the dialog's peer is gone.
        for (status, left) in [(481, 1), (404, 0)] {
            let harness = EngineHarness()
            _ = try await Self.twoSubscriptionsInOneDialog(harness)
            await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
            let notify = try #require(harness.requests.last)
            #expect(notify.headers["Event"] == "presence")
            await harness.answer(notify, status: status)
            #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == left, "\(status)")
        }
    }

    @Test func aTargetRefreshInASharedDialogIsStoredForEverySubscription() async throws {
        let harness = EngineHarness()
        let tag = try await Self.twoSubscriptionsInOneDialog(harness)
        let moved = Self.ownSubscribe(event: "presence", branch: "z9hG4bKs3", toTag: tag, cseq: 3)
            .replacingOccurrences(of: "Contact: <sip:alice@192.0.2.10:5060>", with: "Contact: <sip:alice@192.0.2.77:5070>")
        await harness.send(moved)
        #expect(harness.statuses.last == 200)
        await harness.answerAll(from: 2)
        try await Task.sleep(for: .milliseconds(50))
        let targets = await harness.store.allSubscriptions().map(\.remoteTarget)
        #expect(targets == ["sip:alice@192.0.2.77:5070", "sip:alice@192.0.2.77:5070"])
        // The winfo subscription's NOTIFYs go there too.
        await harness.send(subscribeRequest(from: "carol", expires: 600, branch: "z9hG4bKs4", callID: "sub-carol"))
        await harness.answerAll(from: 2)
        let winfo = try #require(harness.requests.last { $0.headers["Event"] == "presence.winfo" })
        #expect(winfo.requestURIText == "sip:alice@192.0.2.77:5070")
    }

    @Test func aNewSubscriptionInAnUnknownDialogIs481() async throws {
        let harness = EngineHarness()
        let tag = try await Self.twoSubscriptionsInOneDialog(harness)
        let other = subscribeRequest(from: "alice", event: "message-summary", branch: "z9hG4bKs3", callID: "another-call", toTag: tag, cseq: 3)
        await harness.send(other)
        #expect(harness.statuses.last == 481)
        await harness.send(subscribeRequest(event: "message-summary", branch: "z9hG4bKs4", callID: "shared-1", toTag: "not-ours", cseq: 3))
        #expect(harness.statuses.last == 481)
    }

    @Test func afterARestartTheSharedDialogContinuesAboveEveryCSeqItsSubscriptionsReserved() async throws {
        let store = InMemoryHeraldStore()
        let before = EngineHarness(store: store)
        _ = try await Self.twoSubscriptionsInOneDialog(before)
        try await Task.sleep(for: .milliseconds(50))
        // As if the winfo subscription had sent many NOTIFYs and grown the reservation alone.
        var winfo = try #require(await store.allSubscriptions().first { $0.event == "presence.winfo" })
        #expect(await store.allSubscriptions().count == 2)
        winfo.localCSeqReserved = 300
        await store.saveSubscription(winfo)

        let after = EngineHarness(store: store)
        #expect(try await after.loop.flatSubmit { after.engine.restore() }.get().subscriptions == 2)
        // The winfo subscription ends (its final NOTIFY takes the dialog's next CSeq) and its
        // record goes; the presence one's record must now carry the dialog's reservation, or a
        // second restart would reuse CSeqs.
        await after.send(Self.ownSubscribe(event: "presence.winfo", branch: "z9hG4bKs3", toTag: winfo.localTag, cseq: 3, expires: 0))
        let final = try #require(after.requests.last)
        #expect(final.headers["Subscription-State"] == "terminated;reason=timeout")
        #expect(try final.cseq().sequenceNumber == 301)
        await after.answer(final, status: 200)
        try await Task.sleep(for: .milliseconds(50))
        let remaining = await store.allSubscriptions()
        #expect(remaining.map(\.event) == ["presence"])
        #expect(try remaining[0].localCSeqReserved >= final.cseq().sequenceNumber)

        let third = EngineHarness(store: store)
        #expect(try await third.loop.flatSubmit { third.engine.restore() }.get().subscriptions == 1)
        await third.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKp2"))
        #expect(try third.requests.last!.cseq().sequenceNumber > final.cseq().sequenceNumber)
    }
}
