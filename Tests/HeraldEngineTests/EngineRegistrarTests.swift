import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Testing

@Suite struct EngineRegistrarTests {
    func register(_ harness: EngineHarness, branch: String, cseq: Int, _ extra: [String]) async {
        await harness.send(request("REGISTER", "sip:example.com", branch: branch, cseq: cseq, extra: extra).replacingOccurrences(
            of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>"))
    }

    @Test func registerStoresBindingsAndListsThemInThe200() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10:5060>;+sip.instance=\"<urn:uuid:1>\"", "Expires: 600"])
        let response = try #require(harness.sink.responses.last)
        #expect(response.statusCode == 200)
        #expect(response.headers["Contact"] == "<sip:alice@192.0.2.10:5060>;+sip.instance=\"<urn:uuid:1>\";expires=600")
        #expect(response.headers["Date"]?.hasSuffix("GMT") == true)
        let stored = await harness.store.bindings(addressOfRecord: "sip:alice@example.com")
        #expect(stored.map(\.contactURI) == ["sip:alice@192.0.2.10:5060"])
        #expect(stored.first?.receivedFrom == "udp:192.0.2.10:5060")

        await self.register(harness, branch: "z9hG4bKr2", cseq: 2, ["Contact: *", "Expires: 0"])
        #expect(harness.sink.responses.last?.statusCode == 200)
        #expect(await harness.store.bindings(addressOfRecord: "sip:alice@example.com").isEmpty)
    }

    @Test func registeredUserIsKnownToRouting() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>"])
        await harness.send(request("MESSAGE", "sip:alice@example.com", branch: "z9hG4bKm1", callID: "m1"))
        await harness.send(request("MESSAGE", "sip:carol@example.com", branch: "z9hG4bKm2", callID: "m2"))
        #expect(harness.statuses == [200, 480, 404])
    }

    @Test func registrationsAreRefusedWhileDigestIsOnButUnavailable() async throws {
        let harness = EngineHarness(authMode: .digest)
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>"])
        #expect(harness.statuses == [403])
        #expect(await harness.store.allBindings().isEmpty)
    }

    @Test func expiredBindingsAreRemoved() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>", "Expires: 60"])
        await harness.advance(by: .seconds(61))
        let removed = try await harness.loop.flatSubmit { harness.engine.removeExpiredBindings() }.get()
        #expect(removed == 1)
        #expect(await harness.store.allBindings().isEmpty)
    }
}
