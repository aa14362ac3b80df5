import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Testing

/// RFC 3680 reg event package, driven through REGISTER and the binding expiry.
@Suite struct EngineRegEventTests {
    func register(_ harness: EngineHarness, branch: String, cseq: Int, _ extra: [String]) async {
        await harness.send(request("REGISTER", "sip:example.com", branch: branch, cseq: cseq, callID: "reg-call", extra: extra)
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>"))
    }

    func regNotifies(_ harness: EngineHarness) -> [String] {
        harness.requests.filter { $0.headers["Event"] == "reg" }.map { String(decoding: $0.body, as: UTF8.self) }
    }

    @Test func ownerFollowsRegisterRefreshAndUnregister() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10:5060>", "Expires: 600"])
        await harness.send(subscribeRequest(from: "alice", event: "reg", branch: "z9hG4bKs1", callID: "reg-sub"))
        let full = try #require(self.regNotifies(harness).last)
        #expect(harness.requests.last?.headers["Content-Type"] == "application/reginfo+xml")
        #expect(full.contains("<reginfo xmlns=\"urn:ietf:params:xml:ns:reginfo\" version=\"0\" state=\"full\">"))
        #expect(full.contains("<registration aor=\"sip:alice@example.com\""))
        #expect(full.contains("state=\"active\" event=\"registered\" expires=\"600\""))
        #expect(full.contains("<uri>sip:alice@192.0.2.10:5060</uri>"))
        await harness.answer(harness.requests.last!, status: 200)

        await self.register(harness, branch: "z9hG4bKr2", cseq: 2, ["Contact: <sip:alice@192.0.2.10:5060>", "Expires: 900"])
        let refreshed = try #require(self.regNotifies(harness).last)
        #expect(refreshed.contains("version=\"1\" state=\"partial\""))
        #expect(refreshed.contains("event=\"refreshed\""))
        await harness.answer(harness.requests.last!, status: 200)

        await self.register(harness, branch: "z9hG4bKr3", cseq: 3, ["Contact: <sip:alice@192.0.2.10:5060>", "Expires: 120"])
        #expect(self.regNotifies(harness).last?.contains("event=\"shortened\"") == true)
        await harness.answer(harness.requests.last!, status: 200)

        await self.register(harness, branch: "z9hG4bKr4", cseq: 4, ["Contact: *", "Expires: 0"])
        let gone = try #require(self.regNotifies(harness).last)
        #expect(gone.contains("state=\"terminated\" event=\"unregistered\""))
        #expect(gone.contains("<registration aor=\"sip:alice@example.com\"") && gone.contains("state=\"terminated\">"))
    }

    @Test func expiredBindingIsReportedOnTime() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10:5060>", "Expires: 60"])
        await harness.send(subscribeRequest(from: "alice", event: "reg", expires: 3600, branch: "z9hG4bKs1", callID: "reg-sub"))
        await harness.answer(harness.requests.last!, status: 200)
        await harness.advance(by: .seconds(61))
        #expect(self.regNotifies(harness).last?.contains("event=\"expired\"") == true)
        #expect(await harness.store.allBindings().isEmpty)
    }

    @Test func onlyTheOwnerMaySubscribe() async throws {
        let harness = EngineHarness()
        await harness.send(subscribeRequest(from: "bob", event: "reg", branch: "z9hG4bKs1", callID: "reg-sub"))
        #expect(harness.statuses == [403])
    }
}

@Suite struct TrustedHostTests {
    @Test func trustedHostWatchesAnyRegStateWithoutChallenge() async throws {
        let store = InMemoryHeraldStore()
        try await store.addUser(UserRecord(username: "alice", domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        let harness = EngineHarness(authMode: .digest, store: store, trustedHosts: ["192.0.2.10"])
        await harness.send(subscribeRequest(from: "scscf", event: "reg", branch: "z9hG4bKs1", callID: "reg-sub"))
        #expect(harness.statuses == [200])
        #expect(harness.requests.last?.headers["Content-Type"] == "application/reginfo+xml")
        // Anyone else is challenged, and then only the owner may watch.
        await harness.send(subscribeRequest(from: "bob", event: "reg", branch: "z9hG4bKs2", callID: "reg-sub-2"),
                           from: try SocketAddress(ipAddress: "192.0.2.99", port: 5060))
        #expect(harness.statuses.last == 407)
    }
}
