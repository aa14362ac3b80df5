import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Testing

/// Stateful forwarding of non-INVITE requests to registered contacts (RFC 3261 §16).
@Suite struct EngineProxyTests {
    static let phone1 = try! SocketAddress(ipAddress: "192.0.2.21", port: 5060)
    static let phone2 = try! SocketAddress(ipAddress: "192.0.2.22", port: 5060)

    func register(_ harness: EngineHarness, contact: String, from source: SocketAddress, branch: String, cseq: Int, callID: String) async {
        await harness.send(
            request("REGISTER", "sip:example.com", branch: branch, cseq: cseq, callID: callID, extra: ["Contact: \(contact)"])
                .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>"),
            from: source)
    }

    func forwarded(_ harness: EngineHarness, to address: SocketAddress) -> [SIPRequest] {
        harness.sink.sent.filter { $0.destination.address == address }.compactMap { sent in
            guard case .request(let request)? = try? SIPMessageParser.parse(sent.bytes) else { return nil }
            return request
        }
    }

    func answer(_ harness: EngineHarness, _ request: SIPRequest, status: Int, from source: SocketAddress) async {
        let response = SIPResponse(answering: request, statusCode: status, toTag: "ua")
        await harness.send(String(decoding: SIPSerializer.serialize(response), as: UTF8.self), from: source)
    }

    func message(_ branch: String) -> String {
        request("MESSAGE", "sip:alice@example.com", branch: branch, callID: "msg-\(branch)", extra: ["Content-Type: text/plain"], body: "hello")
    }

    @Test func messageIsForwardedToTheContactAndTheAnswerComesBack() async throws {
        let harness = EngineHarness()
        await self.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: Self.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(self.message("z9hG4bKm1"))
        let out = try #require(self.forwarded(harness, to: Self.phone1).first)
        #expect(out.method == .message)
        #expect(out.requestURIText == "sip:alice@192.0.2.21:5060")
        #expect(try out.maxForwards() == 69)
        let vias = try out.vias()
        #expect(vias.count == 2 && vias[0].host == "127.0.0.1" && vias[1].branch == "z9hG4bKm1")
        #expect(Array(out.body) == Array("hello".utf8))
        await self.answer(harness, out, status: 200, from: Self.phone1)
        let upstream = try #require(harness.sink.responses.last)
        #expect(upstream.statusCode == 200)
        #expect(try upstream.vias().count == 1)
        #expect(try upstream.topVia().branch == "z9hG4bKm1")
    }

    @Test func equalQContactsArePeersAndLowerQIsTriedAfterFailure() async throws {
        let harness = EngineHarness()
        await self.register(harness, contact: "<sip:alice@192.0.2.21:5060>;q=1.0", from: Self.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await self.register(harness, contact: "<sip:alice@192.0.2.22:5060>;q=0.5", from: Self.phone2, branch: "z9hG4bKr2", cseq: 1, callID: "r2")
        await harness.send(self.message("z9hG4bKm1"))
        #expect(self.forwarded(harness, to: Self.phone2).isEmpty)
        let first = try #require(self.forwarded(harness, to: Self.phone1).first)
        await self.answer(harness, first, status: 486, from: Self.phone1)
        let second = try #require(self.forwarded(harness, to: Self.phone2).first)
        await self.answer(harness, second, status: 404, from: Self.phone2)
        // §16.7: the lowest class wins; the first 4xx received.
        #expect(harness.sink.responses.last?.statusCode == 486)
    }

    @Test func serviceUnavailableIsPassedOnAs500AndSilenceIs408() async throws {
        let harness = EngineHarness()
        await self.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: Self.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(self.message("z9hG4bKm1"))
        await self.answer(harness, try #require(self.forwarded(harness, to: Self.phone1).first), status: 503, from: Self.phone1)
        #expect(harness.sink.responses.last?.statusCode == 500)
        await harness.send(self.message("z9hG4bKm2"))
        await harness.advance(by: .seconds(33))
        #expect(harness.sink.responses.last?.statusCode == 408)
    }

    @Test func requestComingBackIsALoop() async throws {
        let harness = EngineHarness()
        await self.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: Self.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(self.message("z9hG4bKm1"))
        let out = try #require(self.forwarded(harness, to: Self.phone1).first)
        // The same request arrives again with our Via in it (a loop back to us).
        var looped = out
        looped.setRequestURI(try SIPURI(parsing: "sip:alice@example.com"))
        looped.headers.prepend("Via", "SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKloop")
        await harness.send(String(decoding: SIPSerializer.serialize(looped), as: UTF8.self), from: try SocketAddress(ipAddress: "192.0.2.30", port: 5060))
        #expect(harness.sink.responses.last?.statusCode == 482)
    }
}

/// INVITE forwarding (RFC 3261 §16.6, §16.7, §16.10).
@Suite struct EngineInviteProxyTests {
    let base = EngineProxyTests()

    func invite(_ branch: String = "z9hG4bKi1") -> String {
        request("INVITE", "sip:alice@example.com", branch: branch, callID: "call-\(branch)", extra: ["Contact: <sip:caller@192.0.2.10>", "Content-Type: application/sdp"], body: "v=0\r\n")
    }

    func sent(_ harness: EngineHarness, _ method: SIPMethod, to address: SocketAddress) -> [SIPRequest] {
        self.base.forwarded(harness, to: address).filter { $0.method == method }
    }

    @Test func provisionalAndFinalResponsesComeBackAndFailuresAreAcked() async throws {
        let harness = EngineHarness()
        await self.base.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: EngineProxyTests.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(self.invite())
        let out = try #require(self.sent(harness, .invite, to: EngineProxyTests.phone1).first)
        #expect(String(decoding: out.body, as: UTF8.self) == "v=0\r\n")
        await self.base.answer(harness, out, status: 180, from: EngineProxyTests.phone1)
        #expect(harness.sink.responses.last?.statusCode == 180)
        await self.base.answer(harness, out, status: 486, from: EngineProxyTests.phone1)
        #expect(harness.sink.responses.last?.statusCode == 486)
        #expect(try harness.sink.responses.last?.topVia().branch == "z9hG4bKi1")
        // §17.1.1.3: the failure is acknowledged downstream, with our branch.
        let ack = try #require(self.sent(harness, .ack, to: EngineProxyTests.phone1).first)
        #expect(try ack.topVia().branch == out.topVia().branch)
    }

    @Test func firstSuccessWinsAndOtherForksAreCancelled() async throws {
        let harness = EngineHarness()
        await self.base.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: EngineProxyTests.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await self.base.register(harness, contact: "<sip:alice@192.0.2.22:5060>", from: EngineProxyTests.phone2, branch: "z9hG4bKr2", cseq: 1, callID: "r2")
        await harness.send(self.invite())
        let one = try #require(self.sent(harness, .invite, to: EngineProxyTests.phone1).first)
        let two = try #require(self.sent(harness, .invite, to: EngineProxyTests.phone2).first)
        await self.base.answer(harness, two, status: 180, from: EngineProxyTests.phone2)
        await self.base.answer(harness, one, status: 200, from: EngineProxyTests.phone1)
        #expect(harness.sink.responses.last { $0.statusCode >= 200 }?.statusCode == 200)
        let cancel = try #require(self.sent(harness, .cancel, to: EngineProxyTests.phone2).first)
        #expect(try cancel.topVia().branch == two.topVia().branch)
        #expect(self.sent(harness, .cancel, to: EngineProxyTests.phone1).isEmpty)
    }

    @Test func cancelFromTheCallerReachesTheCalleeAnd487ComesBack() async throws {
        let harness = EngineHarness()
        await self.base.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: EngineProxyTests.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(self.invite())
        let out = try #require(self.sent(harness, .invite, to: EngineProxyTests.phone1).first)
        await self.base.answer(harness, out, status: 180, from: EngineProxyTests.phone1)
        await harness.send(request("CANCEL", "sip:alice@example.com", branch: "z9hG4bKi1", callID: "call-z9hG4bKi1"))
        #expect(harness.sink.responses.last { (try? $0.cseq().method) == .cancel }?.statusCode == 200)
        let cancel = try #require(self.sent(harness, .cancel, to: EngineProxyTests.phone1).first)
        await self.base.answer(harness, cancel, status: 200, from: EngineProxyTests.phone1)
        await self.base.answer(harness, out, status: 487, from: EngineProxyTests.phone1)
        #expect(harness.sink.responses.last { (try? $0.cseq().method) == .invite && $0.statusCode >= 200 }?.statusCode == 487)
    }
}

/// Record-Route and loose routing of in-dialog requests (RFC 3261 §16.4, §16.6, §16.11).
@Suite struct EngineRoutingTests {
    let base = EngineProxyTests()

    @Test func inviteIsRecordRoutedAndInDialogRequestsFollowTheRouteSet() async throws {
        let harness = EngineHarness()
        await self.base.register(harness, contact: "<sip:alice@192.0.2.21:5060>", from: EngineProxyTests.phone1, branch: "z9hG4bKr1", cseq: 1, callID: "r1")
        await harness.send(EngineInviteProxyTests().invite())
        let out = try #require(self.base.forwarded(harness, to: EngineProxyTests.phone1).first { $0.method == .invite })
        let recordRoute = try #require(out.headers["Record-Route"])
        #expect(recordRoute == "<sip:127.0.0.1:5060;lr;hr=\(EngineHarness.routeToken.token(callID: "call-z9hG4bKi1"))>")

        // The caller's BYE, routed through Herald to the callee's contact.
        let bye = request("BYE", "sip:alice@192.0.2.21:5060", branch: "z9hG4bKbye", cseq: 2, toTag: "callee", callID: "call-z9hG4bKi1",
                          extra: ["Route: \(recordRoute)"])
        await harness.send(bye)
        let forwardedBye = try #require(self.base.forwarded(harness, to: EngineProxyTests.phone1).first { $0.method == .bye })
        #expect(forwardedBye.headers["Route"] == nil)
        #expect(forwardedBye.requestURIText == "sip:alice@192.0.2.21:5060")
        #expect(try forwardedBye.vias().count == 2)
        await self.base.answer(harness, forwardedBye, status: 200, from: EngineProxyTests.phone1)
        #expect(harness.sink.responses.last { (try? $0.cseq().method) == .bye }?.statusCode == 200)

        // The ACK for a 2xx goes on without a transaction.
        let ack = request("ACK", "sip:alice@192.0.2.21:5060", branch: "z9hG4bKack", cseq: 1, toTag: "callee", callID: "call-z9hG4bKi1",
                          extra: ["Route: \(recordRoute)"])
        await harness.send(ack)
        #expect(self.base.forwarded(harness, to: EngineProxyTests.phone1).contains { $0.method == .ack })
    }

    @Test func aRouteNamingHeraldWithoutItsTokenDoesNotMakeItARelay() async throws {
        let harness = EngineHarness()
        let target = try SocketAddress(ipAddress: "192.0.2.77", port: 5060)
        // A stranger forges an in-dialog request with a Route naming Herald: refused.
        let forged = request("BYE", "sip:victim@192.0.2.77", branch: "z9hG4bKf1", toTag: "t", callID: "forged",
                             extra: ["Route: <sip:127.0.0.1:5060;lr>"])
            .replacingOccurrences(of: "From: <sip:alice@example.com>", with: "From: <sip:mallory@evil.example>")
        await harness.send(forged)
        #expect(harness.statuses.last == 403)
        let forgedAck = forged.replacingOccurrences(of: "BYE", with: "ACK").replacingOccurrences(of: "z9hG4bKf1", with: "z9hG4bKf2")
        await harness.send(forgedAck)
        #expect(self.base.forwarded(harness, to: target).isEmpty)
        // The same request in a dialog Herald record-routed goes on.
        let genuine = forged.replacingOccurrences(of: "<sip:127.0.0.1:5060;lr>",
                                                  with: "<sip:127.0.0.1:5060;lr;hr=\(EngineHarness.routeToken.token(callID: "forged"))>")
            .replacingOccurrences(of: "z9hG4bKf1", with: "z9hG4bKf3")
        await harness.send(genuine)
        #expect(self.base.forwarded(harness, to: target).count == 1)
    }

    @Test func nextHopWithoutAnAddressIsNotResolved() async throws {
        let harness = EngineHarness()
        await harness.send(request("BYE", "sip:someone@elsewhere.example", branch: "z9hG4bKb1", toTag: "t", callID: "c9",
                                   extra: ["Route: <sip:127.0.0.1:5060;lr>"]))
        #expect(harness.statuses.last == 404)
    }

    @Test func foreignRouteWithoutOursIsNotRelayed() async throws {
        let harness = EngineHarness()
        await harness.send(request("BYE", "sip:someone@192.0.2.50", branch: "z9hG4bKb1", toTag: "t", callID: "c9",
                                   extra: ["Route: <sip:192.0.2.99;lr>"]))
        #expect(harness.statuses.last == 403)
        #expect(harness.sink.sent.allSatisfy { $0.destination.address.ipAddress != "192.0.2.99" && $0.destination.address.ipAddress != "192.0.2.50" })
    }
}
