@testable import HeraldEngine
import HeraldStore
import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import Testing

func pidf(_ tuple: String, _ basic: String) -> String {
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\"><tuple id=\"\(tuple)\"><status><basic>\(basic)</basic></status></tuple></presence>"
}

func subscribeRequest(from watcher: String = "bob", event: String = "presence", expires: Int = 600, branch: String = "z9hG4bKsub1", callID: String = "sub-1", toTag: String? = nil, cseq: Int = 1) -> String {
    request("SUBSCRIBE", "sip:alice@example.com", branch: branch, cseq: cseq, toTag: toTag, callID: callID, extra: [
        "Event: \(event)", "Contact: <sip:\(watcher)@192.0.2.10:5060>", "Expires: \(expires)",
    ]).replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: <sip:\(watcher)@example.com>;tag=w-\(watcher)")
        .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>")
}

/// bob's subscription to alice, made by one engine and stored in `store`: its record.
func storedSubscription(in store: InMemoryHeraldStore) async throws -> SubscriptionRecord {
    let harness = EngineHarness(store: store)
    await harness.send(subscribeRequest(expires: 3600))
    await harness.answer(harness.requests[0], status: 200)
    try await Task.sleep(for: .milliseconds(50))
    return try #require(await store.allSubscriptions().first)
}

func publishRequest(_ body: String, branch: String, etag: String? = nil, expires: Int = 600) -> String {
    var extra = ["Event: presence", "Expires: \(expires)"]
    if !body.isEmpty { extra.append("Content-Type: application/pidf+xml") }
    if let etag { extra.append("SIP-If-Match: \(etag)") }
    return request("PUBLISH", "sip:alice@example.com", branch: branch, callID: "pub-\(branch)", extra: extra, body: body)
        .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>")
}

/// A watcher subscribed to alice, alice's "open" published (both NOTIFYs answered), and then
/// a store that refuses publication writes; gives the publication's entity-tag.
func publishedOpenToOneWatcherThenStoreRefuses(_ harness: EngineHarness) async throws -> String {
    await harness.send(subscribeRequest())
    await harness.answer(harness.requests[0], status: 200)
    await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
    let etag = try #require(harness.sink.responses.last?.headers["SIP-ETag"])
    await harness.answer(harness.requests.last!, status: 200)
    await harness.store.setRefusesPublicationWrites(true)
    return etag
}

@Suite struct EnginePresenceTests {
    @Test func theAnswerThatCreatesASubscriptionCopiesRecordRoute() async throws {
        let harness = EngineHarness()
        let subscribe = subscribeRequest().replacingOccurrences(
            of: "Max-Forwards: 70\r\n",
            with: "Max-Forwards: 70\r\nRecord-Route: <sip:p1.example.net;lr>\r\nRecord-Route: <sip:p2.example.net;lr>\r\n")
        await harness.send(subscribe)
        // RFC 3261 §12.1.1: the subscriber learns the route set from the 2xx.
        let answer = try #require(harness.sink.sent.first { $0.text.hasPrefix("SIP/2.0 200") })
        #expect(answer.text.contains("\r\nRecord-Route: <sip:p1.example.net;lr>\r\nRecord-Route: <sip:p2.example.net;lr>\r\n"))
        let notify = try #require(harness.requests.first)
        #expect(notify.headers.fields.filter { $0.known == .route }.map(\.value) == ["<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"])
        // A refresh in the dialog does not: its route set is fixed (§12.2.2).
        await harness.answer(notify, status: 200)
        let tag = try #require(try answer.response?.to().tag)
        await harness.send(subscribeRequest(branch: "z9hG4bKrr2", toTag: tag, cseq: 2).replacingOccurrences(
            of: "Max-Forwards: 70\r\n", with: "Max-Forwards: 70\r\nRecord-Route: <sip:p1.example.net;lr>\r\n"))
        let refreshed = try #require(harness.sink.sent.last { $0.text.hasPrefix("SIP/2.0 200") })
        #expect(!refreshed.text.contains("Record-Route"))
    }

    @Test func notifiesFollowTheSubscriberToWhereItsRefreshCameFrom() async throws {
        let store = InMemoryHeraldStore()
        let harness = EngineHarness(store: store)
        await harness.send(subscribeRequest())
        await harness.answer(harness.requests[0], status: 200)
        let tag = try #require(try harness.sink.responses.first?.to().tag)
        // The subscriber's NAT mapping changed: its refresh comes from elsewhere.
        let moved = try SocketAddress(ipAddress: "192.0.2.20", port: 5070)
        await harness.send(subscribeRequest(branch: "z9hG4bKmv", toTag: tag, cseq: 2), from: moved)
        #expect(harness.sink.sent.last { $0.text.hasPrefix("SIP/2.0 200") }?.destination.address == moved)
        let refreshNotify = try #require(harness.sink.sent.last { $0.text.hasPrefix("NOTIFY ") })
        #expect(refreshNotify.destination.address == moved)
        await harness.answer(harness.requests.last!, status: 200)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKmv2"))
        #expect(harness.sink.sent.last { $0.text.hasPrefix("NOTIFY ") }?.destination.address == moved)
        await harness.answer(harness.requests.last!, status: 200)
        // Someone else holding the dialog's ids (a From that is not bob's) moves nothing.
        let intruder = try SocketAddress(ipAddress: "203.0.113.9", port: 5060)
        await harness.send(
            subscribeRequest(branch: "z9hG4bKmv3", toTag: tag, cseq: 3).replacingOccurrences(of: "From: <sip:bob@example.com>", with: "From: <sip:eve@example.com>"),
            from: intruder)
        await harness.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKmv4"))
        #expect(harness.sink.sent.last { $0.text.hasPrefix("NOTIFY ") }?.destination.address == moved)
        // Stored, so that a restart sends there too.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().first?.destination == "udp:192.0.2.20:5070")
    }

    @Test func aShutdownWaitsForTheSubscriptionsItAnswered() async throws {
        let store = InMemoryHeraldStore()
        let harness = EngineHarness(store: store)
        await store.holdSubscriptionWrites()  // a slow disk
        await harness.send(subscribeRequest())
        #expect(harness.statuses == [200])
        let drained = NIOLockedValueBox(false)
        let drain = Task {
            await harness.engine.drainStoreWrites(timeout: .seconds(10))
            drained.withLockedValue { $0 = true }
        }
        for _ in 0..<10 { await harness.settle() }
        #expect(!drained.withLockedValue { $0 })
        #expect(await store.allSubscriptions().isEmpty)
        await store.releaseSubscriptionWrites()
        while !drained.withLockedValue({ $0 }) { await harness.settle() }
        await drain.value
        #expect(await store.allSubscriptions().count == 1)
    }

    @Test func aSubscriptionShorterThanTheMinimumGets423WithMinExpires() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(expires: 10))
        #expect(harness.statuses == [423])
        #expect(harness.sink.responses.last?.headers["Min-Expires"] == "60")
        #expect(harness.requests.isEmpty)
        // A refresh asking for too little is refused the same way, and the subscription goes on.
        await harness.send(subscribeRequest(branch: "z9hG4bKm2", callID: "sub-2"))
        await harness.answer(harness.requests[0], status: 200)
        let tag = try #require(try harness.sink.responses.last?.to().tag)
        await harness.send(subscribeRequest(expires: 5, branch: "z9hG4bKm3", callID: "sub-2", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 423)
        #expect(harness.sink.responses.last?.headers["Min-Expires"] == "60")
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKm4"))
        #expect(harness.requests.last?.headers["Subscription-State"]?.hasPrefix("active") == true)
    }

    @Test func theEventIdNamesTheSubscriptionInItsNotifiesAndRefreshes() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(event: "presence;id=7"))
        let first = try #require(harness.requests.first)
        #expect(first.headers["Event"] == "presence;id=7")
        await harness.answer(first, status: 200)
        let tag = try #require(try harness.sink.responses.last?.to().tag)
        // A refresh names it with its id (RFC 6665 §8.2.1)...
        await harness.send(subscribeRequest(event: "presence;id=7", branch: "z9hG4bKid2", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 200)
        #expect(harness.requests.last?.headers["Event"] == "presence;id=7")
        await harness.answer(harness.requests.last!, status: 200)
        // ... and without it, or with another, names no subscription of the dialog that exists:
        // another id is a new subscription in the dialog (§4.5.2), its own NOTIFYs with its id.
        await harness.send(subscribeRequest(event: "presence;id=8", branch: "z9hG4bKid3", toTag: tag, cseq: 3))
        #expect(harness.statuses.last == 200)
        #expect(harness.requests.last?.headers["Event"] == "presence;id=8")
    }

    @Test func anExpiredPublicationLeavesTheWatchersStateEvenWhenTheStoreFails() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest())
        await harness.answer(harness.requests[0], status: 200)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKexp", expires: 60))
        await harness.answerAll(from: 1)
        #expect(String(decoding: harness.requests.last!.body, as: UTF8.self).contains("t1"))
        await harness.store.setRefusesPublicationWrites(true)  // the disk fails
        await harness.advance(by: .seconds(61))
        // RFC 3903 §6: the expired state leaves the watchers' view at once.
        let notify = try #require(harness.requests.last)
        #expect(!String(decoding: notify.body, as: UTF8.self).contains("t1"))
        #expect(await harness.store.allPublications().count == 1)
        // The store's copy goes at the next try once the store works again.
        await harness.store.setRefusesPublicationWrites(false)
        await harness.advance(by: .seconds(31))
        #expect(await harness.store.allPublications().isEmpty)
    }

    @Test func aDeviceThatKeepsRefreshingIsNotEvicted() async throws {
        let harness = EngineHarness()
        await harness.send(publishRequest(pidf("desk", "open"), branch: "z9hG4bKdesk"))
        let deskTag = try #require(harness.sink.responses.last?.headers["SIP-ETag"])
        await harness.advance(by: .seconds(10))
        for index in 1...15 {
            await harness.send(publishRequest(pidf("soft\(index)", "open"), branch: "z9hG4bKsoft\(index)"))
        }
        // The desk phone refreshes (no body): it is now the latest to expire.
        await harness.advance(by: .seconds(10))
        await harness.send(publishRequest("", branch: "z9hG4bKdeskr", etag: deskTag))
        #expect(harness.statuses.last == 200)
        await harness.send(publishRequest(pidf("soft16", "open"), branch: "z9hG4bKsoft16"))
        try await Task.sleep(for: .milliseconds(50))
        await harness.settle()
        let bodies = await harness.store.allPublications().map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.count == 16)
        #expect(bodies.contains { $0.contains("\"desk\"") })
        #expect(!bodies.contains { $0.contains("\"soft1\"") })
    }

    @Test func aPresentityKeepsAtMostSixteenPublicationsTheOldestLeaveFirst() async throws {
        let harness = EngineHarness()
        // A client that publishes anew (no SIP-If-Match) seventeen times.
        for index in 0...16 {
            await harness.send(publishRequest(pidf("t\(index)", "open"), branch: "z9hG4bKpile\(index)"))
        }
        #expect(harness.statuses.allSatisfy { $0 == 200 })
        try await Task.sleep(for: .milliseconds(50))
        await harness.settle()
        let stored = await harness.store.allPublications()
        #expect(stored.count == 16)
        #expect(!stored.contains { String(decoding: $0.body, as: UTF8.self).contains("\"t0\"") })
        await harness.send(subscribeRequest())
        let text = String(decoding: try #require(harness.requests.first).body, as: UTF8.self)
        #expect(!text.contains("id=\"t0\"") && text.contains("id=\"t1\"") && text.contains("id=\"t16\""))
    }

    @Test func overTCPNotifiesUseTheConnectionAndReconnectToTheContact() async throws {
        let store = InMemoryHeraldStore()
        let harness = EngineHarness(store: store)
        // bob subscribes over TCP from an ephemeral port; he listens where his Contact says.
        let subscribe = subscribeRequest().replacingOccurrences(of: "Contact: <sip:bob@192.0.2.10:5060>", with: "Contact: <sip:bob@192.0.2.10:5070;transport=tcp>")
            .replacingOccurrences(of: "SIP/2.0/UDP 192.0.2.10:5060", with: "SIP/2.0/TCP 192.0.2.10:40123")
        let ephemeral = try SocketAddress(ipAddress: "192.0.2.10", port: 40123)
        harness.engine.receive(InboundPacket(bytes: Array(subscribe.utf8), transport: .tcp, source: ephemeral, connection: SIPConnectionID(42), local: nil))
        await harness.settle()
        let notify = try #require(harness.sink.sent.first { $0.text.hasPrefix("NOTIFY ") })
        // On bob's connection while it lasts; a new one would go to his Contact, not port 40123.
        #expect(notify.destination.connection == SIPConnectionID(42))
        #expect(notify.destination.transport == .tcp)
        #expect(notify.destination.address == (try SocketAddress(ipAddress: "192.0.2.10", port: 5070)))
        // A restart (no connection then) reconnects there too.
        try await Task.sleep(for: .milliseconds(50))
        #expect(await store.allSubscriptions().first?.destination == "tcp:192.0.2.10:5070")
    }

    @Test func aContactNeverSendsNotifiesToAnotherHostOrPastAProxy() throws {
        let flow = SIPDestination(transport: .tcp, address: try SocketAddress(ipAddress: "192.0.2.10", port: 40123), connection: SIPConnectionID(1))
        let elsewhere = try SIPURI(parsing: "sip:bob@198.51.100.7:6379;transport=tcp")
        let own = try SIPURI(parsing: "sip:bob@192.0.2.10:5070;transport=tcp")
        // Another host: the connection's own address stays (no connection to where bob points).
        #expect(SIPEngine.notifyDestination(flow: flow, contact: elsewhere, routeSet: []) == flow)
        // Through a proxy: its connection, not the UA behind it.
        #expect(SIPEngine.notifyDestination(flow: flow, contact: own, routeSet: ["<sip:p1.example.net;lr>"]) == flow)
        #expect(SIPEngine.notifyDestination(flow: flow, contact: own, routeSet: []).address == (try SocketAddress(ipAddress: "192.0.2.10", port: 5070)))
        // UDP: the flow, always.
        let udp = SIPDestination(transport: .udp, address: flow.address)
        #expect(SIPEngine.notifyDestination(flow: udp, contact: own, routeSet: []) == udp)
    }

    @Test func aNotifyThatFailsAsTheServerStopsEndsNothing() async throws {
        let store = InMemoryHeraldStore()
        let harness = EngineHarness(store: store)
        await harness.send(subscribeRequest())
        try await Task.sleep(for: .milliseconds(50))
        await harness.settle()
        // Shutting down: the transports close, and the NOTIFY in flight fails.
        await harness.engine.stopNotifying()
        await harness.answer(harness.requests[0], status: 481)
        #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == 1)
        await harness.engine.drainStoreWrites(timeout: .seconds(2))
        #expect(await store.allSubscriptions().count == 1)
    }

    @Test func aWatcherThatReadsOnlyCPIMPIDFGetsItAcrossARestart() async throws {
        let store = InMemoryHeraldStore()
        let harness = EngineHarness(store: store)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKcp1"))
        let cpimOnly = subscribeRequest().replacingOccurrences(of: "Expires: 600\r\n", with: "Expires: 600\r\nAccept: application/cpim-pidf+xml\r\n")
        await harness.send(cpimOnly)
        #expect(harness.statuses.last == 200)
        let notify = try #require(harness.requests.first)
        #expect(notify.headers["Content-Type"] == "application/cpim-pidf+xml")
        let body = String(decoding: notify.body, as: UTF8.self)
        #expect(body.contains("xmlns=\"urn:ietf:params:xml:ns:cpim-pidf\"") && body.contains("entity=\"pres:alice@example.com\""))
        #expect(body.contains("<tuple id=\"t1\"><status><basic>open</basic></status></tuple>"))
        // Either format accepted: the RFC 3863 one.
        await harness.send(subscribeRequest(branch: "z9hG4bKcp2", callID: "sub-both").replacingOccurrences(
            of: "Expires: 600\r\n", with: "Expires: 600\r\nAccept: application/cpim-pidf+xml, application/pidf+xml\r\n"))
        #expect(harness.requests.last?.headers["Content-Type"] == "application/pidf+xml")
        // Neither: 406 listing both.
        await harness.send(subscribeRequest(branch: "z9hG4bKcp3", callID: "sub-none").replacingOccurrences(
            of: "Expires: 600\r\n", with: "Expires: 600\r\nAccept: text/plain\r\n"))
        #expect(harness.statuses.last == 406)
        #expect(harness.sink.responses.last?.headers["Accept"] == "application/pidf+xml, application/cpim-pidf+xml")
        // After a restart the watcher still gets its format.
        await harness.answerAll()
        try await Task.sleep(for: .milliseconds(50))
        let after = EngineHarness(store: store)
        _ = try await after.loop.flatSubmit { after.engine.restore() }.get()
        await after.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKcp4"))
        let later = try #require(after.requests.first { $0.headers["Call-ID"] == "sub-1" })
        #expect(later.headers["Content-Type"] == "application/cpim-pidf+xml")
    }

    @Test func aPublishedIdCannotAddHeadersToTheAnswer() async throws {
        let harness = EngineHarness()
        // Two tuples with one id, written with a CRLF and a header after it.
        let body = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@example.com\">"
            + "<tuple id=\"x&#13;&#10;X-Injected: 1\"><status><basic>open</basic></status></tuple>"
            + "<tuple id=\"x&#13;&#10;X-Injected: 1\"><status><basic>open</basic></status></tuple></presence>"
        await harness.send(publishRequest(body, branch: "z9hG4bKinj"))
        let answer = try #require(harness.sink.sent.last)
        #expect(answer.text.hasPrefix("SIP/2.0 400 "))
        #expect(answer.text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n").allSatisfy { !$0.hasPrefix("X-Injected") })
        #expect(try #require(answer.response).headers["X-Injected"] == nil)
    }

    @Test func subscribeGets200ThenNotifyAndPublishedStateFollows() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest())
        #expect(harness.statuses == [200])
        // The 200 is flushed on its own before the first NOTIFY is built behind it.
        #expect(harness.sink.flushes == [1])
        #expect(harness.sink.sent.count == 2)
        let first = try #require(harness.requests.first)
        #expect(first.method == .notify)
        #expect(first.headers["Subscription-State"] == "active;expires=600")
        #expect(first.headers["Event"] == "presence")
        #expect(try first.to().tag == "w-bob")
        #expect(try first.from().tag == harness.sink.responses[0].to().tag)
        #expect(first.requestURIText == "sip:bob@192.0.2.10:5060")
        await harness.answer(first, status: 200)

        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKpub1"))
        // Watchers hear of the change at once; the publisher's 200 waits until it is durable.
        #expect(harness.sink.sent.suffix(2).map { $0.response == nil } == [true, false])
        let publishResponse = try #require(harness.sink.responses.last)
        #expect(publishResponse.statusCode == 200)
        #expect(publishResponse.headers["SIP-ETag"] != nil)
        let second = try #require(harness.requests.last)
        #expect(try second.cseq().sequenceNumber == 2)
        #expect(String(decoding: second.body, as: UTF8.self).contains("<basic>open</basic>"))
    }

    @Test func stateChangesWaitForTheNotifyInFlightAndCoalesce() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest())
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        await harness.send(publishRequest(pidf("t2", "closed"), branch: "z9hG4bKp2"))
        #expect(harness.requests.count == 1)
        await harness.answer(harness.requests[0], status: 200)
        #expect(harness.requests.count == 2)
        let body = String(decoding: harness.requests[1].body, as: UTF8.self)
        #expect(body.contains("id=\"t1\"") && body.contains("id=\"t2\""))
    }

    /// 481, and 408, which RFC 5057 §5.1 treats as a timeout.
    @Test(arguments: [481, 408])
    func notifyAnsweredWith481Or408EndsTheSubscription(_ status: Int) async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest())
        await harness.answer(harness.requests[0], status: status)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        #expect(harness.requests.count == 1)
        let refresh = subscribeRequest(branch: "z9hG4bKsub2", toTag: try harness.sink.responses[0].to().tag, cseq: 2)
        await harness.send(refresh)
        #expect(harness.statuses.last == 481)
    }

    @Test func notifyTimeoutEndsTheSubscription() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest())
        await harness.advance(by: .seconds(33))
        let sentBefore = harness.requests.count
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        #expect(harness.requests.count == sentBefore)
        #expect(try await harness.loop.submit { harness.engine.activeSubscriptionCount }.get() == 0)
    }

    @Test func unsubscribeAndExpiryEndWithTerminatedNotify() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(expires: 60))
        await harness.answer(harness.requests[0], status: 200)
        let tag = try #require(try harness.sink.responses[0].to().tag)
        await harness.send(subscribeRequest(expires: 0, branch: "z9hG4bKsub2", toTag: tag, cseq: 2))
        #expect(harness.requests.last?.headers["Subscription-State"] == "terminated;reason=timeout")

        await harness.send(subscribeRequest(from: "carol", expires: 60, branch: "z9hG4bKsub3", callID: "sub-3"))
        await harness.answer(harness.requests.last!, status: 200)
        await harness.advance(by: .seconds(61))
        #expect(harness.requests.last?.headers["Subscription-State"] == "terminated;reason=timeout")
        #expect(try harness.requests.last?.to().tag == "w-carol")
    }

    @Test func publicationLifecycleFollowsRFC3903() async throws {
        let harness = EngineHarness()
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        let etag = try #require(harness.sink.responses.last?.headers["SIP-ETag"])
        await harness.send(publishRequest("", branch: "z9hG4bKp2", etag: etag))
        let refreshed = try #require(harness.sink.responses.last)
        #expect(refreshed.statusCode == 200)
        let newTag = try #require(refreshed.headers["SIP-ETag"])
        #expect(newTag != etag)
        await harness.send(publishRequest("", branch: "z9hG4bKp3", etag: etag))
        #expect(harness.statuses.last == 412)
        await harness.send(publishRequest("", branch: "z9hG4bKp4", etag: newTag, expires: 0))
        #expect(harness.statuses.last == 200)
        #expect(await harness.store.allPublications().isEmpty)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp5", expires: 10))
        #expect(harness.sink.responses.last?.statusCode == 423)
        #expect(harness.sink.responses.last?.headers["Min-Expires"] == "60")
        await harness.send(publishRequest("<presence", branch: "z9hG4bKp6"))
        #expect(harness.statuses.last == 400)
        #expect(harness.sink.responses.last?.reasonPhrase.hasPrefix("Bad Request: XML not well-formed") == true)
    }

    @Test func watchersHearOfAChangeAtOnceAndOfItsUndoingWhenTheStoreRefusesIt() async throws {
        let harness = EngineHarness()
        let etag = try await publishedOpenToOneWatcherThenStoreRefuses(harness)
        await harness.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKp2", etag: etag))
        #expect(harness.statuses.last == 500)
        let told = try #require(harness.requests.last)
        #expect(try told.cseq().sequenceNumber == 3)
        #expect(String(decoding: told.body, as: UTF8.self).contains("<basic>closed</basic>"))
        await harness.answer(told, status: 200)
        // The refused change is undone: the watcher is told the state before it again...
        let undone = try #require(harness.requests.last)
        #expect(try undone.cseq().sequenceNumber == 4)
        #expect(String(decoding: undone.body, as: UTF8.self).contains("<basic>open</basic>"))
        await harness.answer(undone, status: 200)
        // ...and the publisher's entity-tag still names the publication.
        await harness.store.setRefusesPublicationWrites(false)
        await harness.send(publishRequest("", branch: "z9hG4bKp3", etag: etag))
        #expect(harness.statuses.last == 200)
        #expect(harness.requests.count == 4)
        #expect(await harness.store.allPublications().count == 1)
    }

    @Test func aRemovalTheStoreRefusesLeavesThePublicationInPlace() async throws {
        let harness = EngineHarness()
        let etag = try await publishedOpenToOneWatcherThenStoreRefuses(harness)
        await harness.send(publishRequest("", branch: "z9hG4bKp2", etag: etag, expires: 0))
        #expect(harness.statuses.last == 500)
        #expect(!String(decoding: harness.requests.last!.body, as: UTF8.self).contains("t1"))
        await harness.answer(harness.requests.last!, status: 200)
        #expect(String(decoding: harness.requests.last!.body, as: UTF8.self).contains("<basic>open</basic>"))
        await harness.store.setRefusesPublicationWrites(false)
        await harness.send(publishRequest("", branch: "z9hG4bKp3", etag: etag, expires: 0))
        #expect(harness.statuses.last == 200)
        #expect(await harness.store.allPublications().isEmpty)
    }

    @Test func aRefusedChangeDoesNotBringBackAPublicationThatExpiredWhileItWasPending() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(expires: 3600))
        await harness.answer(harness.requests[0], status: 200)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1", expires: 60))
        let etag = try #require(harness.sink.responses.last?.headers["SIP-ETag"])
        await harness.answer(harness.requests.last!, status: 200)
        // A modify whose write is slow: the watcher hears of it at once, the publisher waits.
        // (A test that stops before the release leaves that write, and the store, suspended.)
        await harness.store.holdPublicationWrites()
        await harness.advance(by: .seconds(30))
        let answered = harness.statuses.count
        await harness.send(publishRequest(pidf("t1", "closed"), branch: "z9hG4bKp2", etag: etag, expires: 60))
        #expect(await harness.store.heldPublicationWriteCount == 1)
        #expect(harness.statuses.count == answered)  // the publisher waits for the store
        #expect(String(decoding: harness.requests.last!.body, as: UTF8.self).contains("<basic>closed</basic>"))
        await harness.answer(harness.requests.last!, status: 200)
        // The replaced publication's own expiry passes meanwhile (it is still in the store).
        await harness.advance(by: .seconds(31))
        #expect(await harness.store.allPublications().isEmpty)
        // What the watcher sees did not change (the modify had replaced it): no NOTIFY.
        #expect(try harness.requests.last?.cseq().sequenceNumber == 3)
        // Then the store refuses the modify: it is undone, and the expired publication stays gone.
        await harness.store.setRefusesPublicationWrites(true)
        await harness.store.releasePublicationWrites()
        await harness.settle()
        #expect(harness.statuses.last == 500)
        let told = try #require(harness.requests.last)
        await harness.answer(told, status: 200)
        let final = try #require(harness.requests.last)
        let body = String(decoding: final.body, as: UTF8.self)
        #expect(!body.contains("t1"), "the watcher still sees a publication that has expired: \(body)")
        // Nor does the engine keep it: its expiry has passed, so no timer would ever remove it
        // (what the undo's liveness check is for; the checks around it pass either way, since
        // composition and entity-tag lookups skip expired publications).
        let indexed = try await harness.loop.submit { harness.engine.publicationIndex.values.reduce(0) { $0 + $1.count } }.get()
        #expect(indexed == 0)
        await harness.store.setRefusesPublicationWrites(false)
        await harness.send(publishRequest("", branch: "z9hG4bKp3", etag: etag))
        #expect(harness.statuses.last == 412)
        // Nothing left to expire later either.
        let sent = harness.sink.sent.count
        await harness.advance(by: .seconds(120))
        #expect(harness.sink.sent.count == sent)
    }

    @Test func expiredPublicationLeavesTheComposition() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(expires: 3600))
        await harness.answer(harness.requests[0], status: 200)
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1", expires: 60))
        await harness.answer(harness.requests.last!, status: 200)
        await harness.advance(by: .seconds(61))
        let last = try #require(harness.requests.last)
        #expect(!String(decoding: last.body, as: UTF8.self).contains("t1"))
        #expect(try last.cseq().sequenceNumber == 3)
    }

    @Test func unknownEventIs489AndPolicyBlockIs403() async throws {
        let harness = EngineHarness(defaultPolicy: .block)
        await harness.send(subscribeRequest(event: "foo"))
        #expect(harness.statuses == [489])
        #expect(harness.sink.responses[0].headers["Allow-Events"]?.contains("presence") == true)
        await harness.send(subscribeRequest(branch: "z9hG4bKsub2", callID: "sub-2"))
        #expect(harness.statuses.last == 403)
        // A presentity may always watch herself.
        await harness.send(subscribeRequest(from: "alice", branch: "z9hG4bKsub3", callID: "sub-3"))
        #expect(harness.statuses.last == 200)
    }

    @Test func confirmPolicyGivesPendingAndWinfoSeesIt() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm)
        await harness.send(subscribeRequest(from: "alice", event: "presence.winfo", branch: "z9hG4bKw1", callID: "winfo-1"))
        let full = try #require(harness.requests.last)
        #expect(full.headers["Content-Type"] == "application/watcherinfo+xml")
        #expect(String(decoding: full.body, as: UTF8.self).contains("version=\"0\" state=\"full\""))
        await harness.answer(full, status: 200)

        await harness.send(subscribeRequest(branch: "z9hG4bKsub1", callID: "sub-1"))
        let pending = try #require(harness.requests.first { $0.headers["Event"] == "presence" })
        #expect(pending.headers["Subscription-State"] == "pending;expires=600")
        #expect(pending.body.isEmpty)
        let partial = try #require(harness.requests.last { $0.headers["Event"] == "presence.winfo" })
        let text = String(decoding: partial.body, as: UTF8.self)
        #expect(text.contains("version=\"1\" state=\"partial\""))
        #expect(text.contains("status=\"pending\""))
        #expect(text.contains("event=\"subscribe\""))
        #expect(text.contains(">sip:bob@example.com</watcher>"))

        await harness.send(subscribeRequest(from: "carol", event: "presence.winfo", branch: "z9hG4bKw2", callID: "winfo-2"))
        #expect(harness.statuses.last == 403)
    }

    @Test func winfoShowsAWatcherAuthorizedAtOnceAsApprovedLikeSeed000() async throws {
        let harness = EngineHarness(defaultPolicy: .allow)
        await harness.send(subscribeRequest(from: "alice", event: "presence.winfo", branch: "z9hG4bKw1", callID: "winfo-1"))
        await harness.answer(harness.requests.last!, status: 200)
        // bob (allowed by the default policy) and alice herself, as in seed 000's example 4.
        await harness.send(subscribeRequest(branch: "z9hG4bKsub1", callID: "sub-1"))
        await harness.send(subscribeRequest(from: "alice", branch: "z9hG4bKsub2", callID: "sub-2"))
        for request in harness.requests.dropFirst() { await harness.answer(request, status: 200) }
        let winfo = harness.requests.filter { $0.headers["Event"] == "presence.winfo" }
        let text = winfo.map { String(decoding: $0.body, as: UTF8.self) }.joined()
        #expect(text.contains("status=\"active\"") && text.contains("event=\"approved\""))
        #expect(!text.contains("event=\"subscribe\""))
        #expect(text.contains(">sip:bob@example.com</watcher>") && text.contains(">sip:alice@example.com</watcher>"))
    }

    @Test func subscriptionsContinueAfterARestartWithHigherCSeq() async throws {
        let store = InMemoryHeraldStore()
        let before = EngineHarness(store: store)
        await before.send(subscribeRequest(expires: 3600))
        await before.answer(before.requests[0], status: 200)
        await before.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        let lastCSeq = try #require(try before.requests.last?.cseq().sequenceNumber)
        try await Task.sleep(for: .milliseconds(50))

        let after = EngineHarness(store: store)
        let restored = try await after.loop.flatSubmit { after.engine.restore() }.get()
        #expect(restored.subscriptions == 1)
        await after.send(publishRequest(pidf("t2", "open"), branch: "z9hG4bKp2"))
        let notify = try #require(after.requests.last)
        #expect(notify.callID == "sub-1")
        #expect(try notify.to().tag == "w-bob")
        #expect(try notify.cseq().sequenceNumber > lastCSeq)
        #expect(String(decoding: notify.body, as: UTF8.self).contains("t2"))
    }
    @Test func watcherInfoVersionsKeepRisingAcrossARestart() async throws {
        func version(_ notify: SIPRequest) -> Int? {
            let text = String(decoding: notify.body, as: UTF8.self)
            guard let root = text.range(of: "<watcherinfo "), let range = text[root.upperBound...].range(of: "version=\"") else { return nil }
            return Int(text[range.upperBound...].prefix { $0.isNumber })
        }
        let store = InMemoryHeraldStore()
        let before = EngineHarness(defaultPolicy: .confirm, store: store)
        await before.send(subscribeRequest(from: "alice", event: "presence.winfo", expires: 3600, branch: "z9hG4bKw1", callID: "winfo-1"))
        await before.answer(before.requests.last!, status: 200)
        await before.send(subscribeRequest(expires: 3600, branch: "z9hG4bKsub1", callID: "sub-1"))
        for request in before.requests.dropFirst() { await before.answer(request, status: 200) }
        let winfoBefore = before.requests.filter { $0.headers["Event"] == "presence.winfo" }
        let lastVersion = try #require(winfoBefore.compactMap(version).max())
        try await Task.sleep(for: .milliseconds(50))

        let after = EngineHarness(defaultPolicy: .confirm, store: store)
        _ = try await after.loop.flatSubmit { after.engine.restore() }.get()
        // A new watcher after the restart: the owner's winfo document must carry a higher version.
        await after.send(subscribeRequest(from: "carol", expires: 3600, branch: "z9hG4bKsub2", callID: "sub-2"))
        for request in after.requests { await after.answer(request, status: 200) }
        let winfoAfter = after.requests.filter { $0.headers["Event"] == "presence.winfo" }
        #expect(!winfoAfter.isEmpty)
        for notify in winfoAfter {
            let next = try #require(version(notify))
            #expect(next > lastVersion, "winfo version \(next) after the restart, \(lastVersion) before it")
        }
    }

    @Test func inDialogSubscribeMustMatchTheWholeDialog() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(expires: 600))
        await harness.answer(harness.requests[0], status: 200)
        let tag = try #require(try harness.sink.responses[0].to().tag)
        // Our tag with another Call-ID is not this dialog (RFC 6665 §4.1.2.1).
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKsub2", callID: "other", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 481)
        await harness.send(subscribeRequest(expires: 600, branch: "z9hG4bKsub3", toTag: tag, cseq: 3))
        #expect(harness.statuses.last == 200)
    }

    @Test func subscriptionStoredWithTheEarlierLongIDIsStillFound() async throws {
        let store = InMemoryHeraldStore()
        var record = try await storedSubscription(in: store)
        // Rewrite the record under the id format earlier versions stored.
        await store.removeSubscription(id: record.id)
        record.id = [record.callID, record.localTag, record.remoteTag, record.event, ""].joined(separator: "|")
        await store.saveSubscription(record)

        let after = EngineHarness(store: store)
        #expect(try await after.loop.flatSubmit { after.engine.restore() }.get().subscriptions == 1)
        await after.send(subscribeRequest(expires: 600, branch: "z9hG4bKsub2", toTag: record.localTag, cseq: 2))
        #expect(after.statuses.last == 200)
    }
}

@Suite struct EngineMessageSummaryPublishTests {
    static let summary = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@example.com\r\nVoice-Message: 2/8 (0/2)\r\n"

    static func voicemailPublish(branch: String, body: String = Self.summary) -> String {
        request(
            "PUBLISH", "sip:alice@example.com", branch: branch, callID: "vm-\(branch)",
            extra: ["Event: message-summary", "Expires: 3600", "Content-Type: application/simple-message-summary"], body: body
        )
        .replacingOccurrences(of: "From: <sip:alice@example.com>", with: "From: <sip:voicemail@example.com>")
        .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>")
    }

    @Test func aTrustedVoicemailSystemPublishesAMailboxSummaryUnderDigest() async throws {
        // The voicemail system at 192.0.2.10 is trusted: not challenged, and may publish for alice.
        let harness = EngineHarness(authMode: .digest, trustedHosts: ["192.0.2.10"])
        await harness.send(Self.voicemailPublish(branch: "z9hG4bKvm1"))
        #expect(harness.statuses == [200])
        #expect(harness.sink.responses.last?.headers["SIP-ETag"] != nil)
        #expect(await harness.store.allPublications().map(\.event) == ["message-summary"])
        // (An authenticated user publishing for someone else is refused: EngineRegistrarTests.)
    }

    @Test func aPacketEightStyleSummaryReachesTheMailboxInRFC3842Names() async throws {
        let harness = EngineHarness()
        await harness.send(
            request("SUBSCRIBE", "sip:alice@example.com", branch: "z9hG4bKmw", callID: "mwi-1", extra: [
                "Event: message-summary", "Contact: <sip:alice@192.0.2.10:5060>", "Expires: 600",
            ]).replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>"))
        await harness.answerAll()
        // Seed 004's notifier: singular Message-Waiting and a Voicemail line; then message headers.
        let packet8 = "Message-Waiting: yes\r\nVoicemail: 9/9 (0/0)\r\n\r\nTo: <sip:alice@example.com>\r\nVoicemail: kept\r\n"
        await harness.send(Self.voicemailPublish(branch: "z9hG4bKvm2", body: packet8))
        let notify = try #require(harness.requests.last { $0.headers["Event"] == "message-summary" })
        #expect(String(decoding: notify.body, as: UTF8.self)
            == "Messages-Waiting: yes\r\nVoice-Message: 9/9 (0/0)\r\n\r\nTo: <sip:alice@example.com>\r\nVoicemail: kept\r\n")
    }
}
