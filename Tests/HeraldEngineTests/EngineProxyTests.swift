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
