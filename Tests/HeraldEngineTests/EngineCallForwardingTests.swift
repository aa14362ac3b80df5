import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import SIPProtocol
import Testing

/// Static routes, strict-route interworking, Timer C, REFER record-routing and per-user call
/// forwarding (RFC 3261 §16.4, §16.6-16.8; RFC 3515; seed 004's divert options).
@Suite struct EngineCallForwardingTests {
    let base = EngineProxyTests()
    static let alicePhone = EngineProxyTests.phone1
    static let carolPhone = EngineProxyTests.phone2
    static let gateway = try! SocketAddress(ipAddress: "192.0.2.40", port: 5070)

    func register(_ harness: EngineHarness, user: String, at phone: SocketAddress) async {
        let text = request(
            "REGISTER", "sip:example.com", branch: "z9hG4bKreg-\(user)", callID: "reg-\(user)",
            extra: ["Contact: <sip:\(user)@\(phone.ipAddress!):\(phone.port!)>"]
        ).replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:\(user)@example.com>")
        await harness.send(text, from: phone)
    }

    func call(_ target: String = "sip:alice@example.com", branch: String = "z9hG4bKcall", extra: [String] = []) -> String {
        request("INVITE", target, branch: branch, callID: "call-\(branch)", extra: ["Contact: <sip:bob@192.0.2.10>", "Content-Type: application/sdp"] + extra, body: "v=0\r\n")
            .replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: <sip:bob@example.com>;tag=b1")
    }

    func invites(_ harness: EngineHarness, to address: SocketAddress) -> [SIPRequest] {
        self.base.forwarded(harness, to: address).filter { $0.method == .invite }
    }

    // MARK: Static routes

    @Test func localUsersReachOtherDomainsByTheirStaticRouteAndStrangersAreRefused() async throws {
        let routes = StaticRouteTable([try StaticRouteTable.parseRoute("there.com=sip:192.0.2.40:5070")])
        let harness = EngineHarness(routes: routes)
        await harness.send(request("MESSAGE", "sip:userb2@there.com", branch: "z9hG4bKm1", callID: "m1", extra: ["Content-Type: text/plain"], body: "hi"))
        let out = try #require(self.base.forwarded(harness, to: Self.gateway).first)
        #expect(out.requestURIText == "sip:userb2@there.com")
        #expect(try out.maxForwards() == 69)
        await self.base.answer(harness, out, status: 202, from: Self.gateway)
        #expect(harness.statuses.last == 202)

        // No route for the domain: refused.
        await harness.send(request("MESSAGE", "sip:x@nowhere.example", branch: "z9hG4bKm2", callID: "m2"))
        #expect(harness.statuses.last == 403)
        // A foreign sender may not use Herald as a relay even where a route exists.
        await harness.send(
            request("MESSAGE", "sip:userb2@there.com", branch: "z9hG4bKm3", callID: "m3")
                .replacingOccurrences(of: "From: <sip:alice@example.com>", with: "From: <sip:mallory@evil.example>"))
        #expect(harness.statuses.last == 403)
        #expect(self.base.forwarded(harness, to: Self.gateway).count == 1)
    }

    @Test func routeTableMatchesSubdomainsAndTheDefaultRoute() throws {
        let table = StaticRouteTable([
            try StaticRouteTable.parseRoute("there.com=192.0.2.40:5070;transport=tcp"),
            try StaticRouteTable.parseRoute("*=sip:192.0.2.41"),
        ])
        #expect(table.nextHop(for: try SIPURI(parsing: "sip:a@sip.there.com"))?.port == 5070)
        #expect(table.nextHop(for: try SIPURI(parsing: "sip:a@notthere.com"))?.host == "192.0.2.41")
        #expect(StaticRouteTable([]).nextHop(for: try SIPURI(parsing: "sip:a@there.com")) == nil)
        #expect(throws: SIPParseError.self) { try StaticRouteTable.parseRoute("there.com") }
    }

    // MARK: Strict routing

    @Test func strictRouterUpstreamIsUndoneAndStrictNextHopGetsTheRequestURI() async throws {
        let harness = EngineHarness()
        // §16.4: the previous hop strict-routed: our Record-Route URI is the Request-URI and the
        // real target is the last Route value; the next hop is a strict router too (no lr).
        let bye = request("BYE", "sip:127.0.0.1:5060;lr;hr=\(EngineHarness.routeToken.token(callID: "strict"))", branch: "z9hG4bKs1", cseq: 2, toTag: "callee", callID: "strict",
                          extra: ["Route: <sip:192.0.2.60:5060>", "Route: <sip:alice@192.0.2.21:5060>"])
        await harness.send(bye)
        let strictRouter = try SocketAddress(ipAddress: "192.0.2.60", port: 5060)
        let out = try #require(self.base.forwarded(harness, to: strictRouter).first)
        // §16.6 step 6: the strict router finds itself in the Request-URI, and the target at
        // the end of the Route set.
        #expect(out.requestURIText == "sip:192.0.2.60:5060")
        #expect(try out.routes().map(\.uri.description) == ["sip:alice@192.0.2.21:5060"])
    }

    @Test func strictRoutingHelpersArePure() throws {
        let identity = ServerIdentity(domains: ["example.com"], addresses: ["127.0.0.1"], ports: [5060])
        guard case .request(var request) = try SIPMessageParser.parse(Array(EngineCallForwardingTests.byteRequest.utf8)) else {
            Issue.record("not a request")
            return
        }
        #expect(StrictRouting.restoreRequestURI(&request, identity: identity))
        #expect(request.requestURIText == "sip:bob@192.0.2.7")
        #expect(try request.routes().isEmpty)
        #expect(!StrictRouting.addressStrictNextHop(&request))
    }

    static let byteRequest = "BYE sip:127.0.0.1:5060;lr SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: x\r\nCSeq: 2 BYE\r\nRoute: <sip:bob@192.0.2.7>\r\nContent-Length: 0\r\n\r\n"

    // MARK: Timer C

    @Test func timerCCancelsABranchThatRingsTooLong() async throws {
        let harness = EngineHarness(proxyInviteTimeout: .seconds(181))
        await self.register(harness, user: "alice", at: Self.alicePhone)
        await harness.send(self.call())
        let out = try #require(self.invites(harness, to: Self.alicePhone).first)
        await self.base.answer(harness, out, status: 180, from: Self.alicePhone)
        await harness.advance(by: .seconds(120))
        // A new provisional response restarts Timer C (§16.7 step 2).
        await self.base.answer(harness, out, status: 183, from: Self.alicePhone)
        await harness.advance(by: .seconds(120))
        #expect(self.base.forwarded(harness, to: Self.alicePhone).allSatisfy { $0.method != .cancel })
        await harness.advance(by: .seconds(62))
        let cancel = try #require(self.base.forwarded(harness, to: Self.alicePhone).first { $0.method == .cancel })
        #expect(try cancel.topVia().branch == out.topVia().branch)
        await self.base.answer(harness, out, status: 487, from: Self.alicePhone)
        #expect(harness.statuses.last == 487)
    }

    // MARK: REFER

    @Test func referIsRecordRoutedSoItsNotifiesComeBackThroughHerald() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "alice", at: Self.alicePhone)
        await harness.send(request("REFER", "sip:alice@example.com", branch: "z9hG4bKref", callID: "refer-1",
                                   extra: ["Contact: <sip:bob@192.0.2.10>", "Refer-To: <sip:carol@example.com>"])
            .replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: <sip:bob@example.com>;tag=b1"))
        let out = try #require(self.base.forwarded(harness, to: Self.alicePhone).first { $0.method == .refer })
        let recordRoute = try #require(out.headers["Record-Route"])
        #expect(recordRoute.hasPrefix("<sip:127.0.0.1:5060;lr;hr="))
        await self.base.answer(harness, out, status: 202, from: Self.alicePhone)
        #expect(harness.statuses.last == 202)
        // The referee's sipfrag NOTIFYs (RFC 3515 §2.4.5) follow the route set back to Bob, in order.
        for (number, frag) in [(1, "SIP/2.0 100 Trying"), (2, "SIP/2.0 200 OK")] {
            let notify = request("NOTIFY", "sip:bob@192.0.2.10", branch: "z9hG4bKn\(number)", cseq: number, toTag: "b1", callID: "refer-1",
                                 extra: ["Route: \(recordRoute)", "Event: refer", "Subscription-State: active;expires=60",
                                         "Content-Type: message/sipfrag"], body: frag)
            await harness.send(notify, from: Self.alicePhone)
        }
        let notifies = self.base.forwarded(harness, to: EngineHarness.client).filter { $0.method == .notify }
        #expect(notifies.map { String(decoding: $0.body, as: UTF8.self) } == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"])
    }

    // MARK: Call forwarding

    @Test func busyCallIsDivertedToTheBusyTargetWithHistoryInfo() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "alice", at: Self.alicePhone)
        await self.register(harness, user: "carol", at: Self.carolPhone)
        await harness.store.setForwardingRules(ForwardingRules(busy: "sip:carol@example.com"), username: "alice", domain: "example.com")
        await harness.send(self.call())
        let first = try #require(self.invites(harness, to: Self.alicePhone).first)
        await self.base.answer(harness, first, status: 486, from: Self.alicePhone)
        // Seed 004 F6: the call goes on to the new target instead of the 486 going back.
        #expect(!harness.statuses.contains(486))
        let diverted = try #require(self.invites(harness, to: Self.carolPhone).first)
        #expect(diverted.requestURIText == "sip:carol@192.0.2.22:5060")
        #expect(diverted.headers.fields(SIPHeaderName("History-Info")).map(\.value) == [
            "<sip:alice@example.com>;index=1", "<sip:carol@example.com;cause=486>;index=1.1;mp=1",
        ])
        #expect(diverted.headers["Call-ID"] == "call-z9hG4bKcall")
        await self.base.answer(harness, diverted, status: 200, from: Self.carolPhone)
        #expect(harness.statuses.last == 200)
    }

    @Test func unansweredCallIsCancelledAndDivertedAfterTheNoAnswerTime() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "alice", at: Self.alicePhone)
        await self.register(harness, user: "carol", at: Self.carolPhone)
        await harness.store.setForwardingRules(
            ForwardingRules(noAnswer: "sip:carol@example.com", noAnswerSeconds: 10), username: "alice", domain: "example.com")
        await harness.send(self.call())
        let first = try #require(self.invites(harness, to: Self.alicePhone).first)
        await self.base.answer(harness, first, status: 180, from: Self.alicePhone)
        await harness.advance(by: .seconds(9))
        #expect(self.invites(harness, to: Self.carolPhone).isEmpty)
        await harness.advance(by: .seconds(2))
        #expect(self.base.forwarded(harness, to: Self.alicePhone).contains { $0.method == .cancel })
        await self.base.answer(harness, first, status: 487, from: Self.alicePhone)
        let diverted = try #require(self.invites(harness, to: Self.carolPhone).first)
        #expect(diverted.headers.fields(SIPHeaderName("History-Info")).contains { $0.value.contains("cause=408") })
        #expect(!harness.statuses.contains(487))
    }

    @Test func unconditionalAndUnreachableTargetsAreUsedAndStopAfterFiveDiversions() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "carol", at: Self.carolPhone)
        try await harness.store.addUser(UserRecord(username: "alice", domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        try await harness.store.addUser(UserRecord(username: "dave", domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        // Alice has no contact: unreachable goes to carol.
        await harness.store.setForwardingRules(ForwardingRules(unreachable: "sip:carol@example.com"), username: "alice", domain: "example.com")
        await harness.send(self.call())
        #expect(self.invites(harness, to: Self.carolPhone).count == 1)

        // Dave forwards everything to himself: the diversions stop, and the call fails plainly.
        await harness.store.setForwardingRules(ForwardingRules(unconditional: "sip:dave@example.com"), username: "dave", domain: "example.com")
        await harness.send(self.call("sip:dave@example.com", branch: "z9hG4bKloop"))
        #expect(harness.statuses.last == 480)
    }

    @Test func callerCancelIsNotDiverted() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "alice", at: Self.alicePhone)
        await self.register(harness, user: "carol", at: Self.carolPhone)
        await harness.store.setForwardingRules(ForwardingRules(noAnswer: "sip:carol@example.com"), username: "alice", domain: "example.com")
        await harness.send(self.call())
        let first = try #require(self.invites(harness, to: Self.alicePhone).first)
        await self.base.answer(harness, first, status: 180, from: Self.alicePhone)
        await harness.send(request("CANCEL", "sip:alice@example.com", branch: "z9hG4bKcall", callID: "call-z9hG4bKcall")
            .replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: <sip:bob@example.com>;tag=b1"))
        await self.base.answer(harness, first, status: 487, from: Self.alicePhone)
        #expect(harness.statuses.contains(487))
        #expect(self.invites(harness, to: Self.carolPhone).isEmpty)
    }

    @Test func aDiversionContinuesTheHistoryInfoTheRequestBrought() async throws {
        let harness = EngineHarness()
        await self.register(harness, user: "carol", at: Self.carolPhone)
        try await harness.store.addUser(UserRecord(username: "alice", domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        await harness.store.setForwardingRules(ForwardingRules(unconditional: "sip:carol@example.com"), username: "alice", domain: "example.com")
        await harness.send(self.call(extra: ["History-Info: <sip:bob@example.org>;index=1, <sip:alice@example.com>;index=1.2;rc=1"]))
        let diverted = try #require(self.invites(harness, to: Self.carolPhone).first)
        let values = diverted.headers.fields(SIPHeaderName("History-Info")).map(\.value)
        #expect(values.last == "<sip:carol@example.com;cause=302>;index=1.2.1;mp=1.2")
    }

    @Test func divertReasonFollowsTheBranchOutcomes() {
        #expect(CallForwardingPolicy.reason(finalStatuses: [486], noAnswerTimerFired: false, hadContacts: true, cancelledByCaller: false) == .busy)
        #expect(CallForwardingPolicy.reason(finalStatuses: [408, 503], noAnswerTimerFired: false, hadContacts: true, cancelledByCaller: false) == .unreachable)
        #expect(CallForwardingPolicy.reason(finalStatuses: [487], noAnswerTimerFired: true, hadContacts: true, cancelledByCaller: false) == .noAnswer)
        #expect(CallForwardingPolicy.reason(finalStatuses: [403], noAnswerTimerFired: false, hadContacts: true, cancelledByCaller: false) == nil)
        #expect(CallForwardingPolicy.reason(finalStatuses: [], noAnswerTimerFired: false, hadContacts: false, cancelledByCaller: true) == nil)
    }
}
