import HeraldEngine
import HeraldStore
import NIOCore
import SIPCore
import Foundation
import SIPProtocol
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

    @Test func unknownUsersAre404() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>"])
        await harness.send(request("MESSAGE", "sip:carol@example.com", branch: "z9hG4bKm2", callID: "m2"))
        #expect(harness.statuses == [200, 404])
    }

    /// The Authorization value a UA computes for a challenge (RFC 7616 §3.4.1, qop=auth).
    static func authorization(
        challenge: String, user: String, password: String, method: String, uri: String, header: String = "Authorization", nc: Int = 1
    ) throws -> String {
        let ncText = String(format: "%08x", nc)
        let parameters = try DigestAuthParameters(parsing: challenge)
        let nonce = parameters["nonce"] ?? ""
        let algorithm = DigestAuthenticator.Algorithm(rawValue: parameters["algorithm"] ?? "MD5") ?? .md5
        let ha1 = algorithm == .md5 ? DigestHA1.md5(username: user, realm: "example.com", password: password)
            : DigestHA1.sha256(username: user, realm: "example.com", password: password)
        let ha2 = DigestAuthenticator.hash("\(method):\(uri)", algorithm)
        let response = DigestAuthenticator.hash("\(ha1):\(nonce):\(ncText):c1:auth:\(ha2)", algorithm)
        return "\(header): Digest username=\"\(user)\", realm=\"example.com\", nonce=\"\(nonce)\", uri=\"\(uri)\", response=\"\(response)\", algorithm=\(algorithm.rawValue), cnonce=\"c1\", nc=\(ncText), qop=auth"
    }

    @Test func digestChallengeThenRegistration() async throws {
        let harness = EngineHarness(authMode: .digest)
        await harness.store.saveUser(UserRecord(
            username: "alice", domain: "example.com", ha1MD5: DigestHA1.md5(username: "alice", realm: "example.com", password: "pw"),
            ha1SHA256: DigestHA1.sha256(username: "alice", realm: "example.com", password: "pw")))
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>"])
        let challenge = try #require(harness.sink.responses.last)
        #expect(challenge.statusCode == 401)
        let offers = challenge.headers.fields(SIPHeaderName(.wwwAuthenticate)).map(\.value)
        #expect(offers.count == 2 && offers[0].contains("SHA-256") && offers[1].contains("MD5"))
        for (index, offer) in offers.enumerated() {
            // Both offers carry the same nonce: the second use needs a higher nonce-count.
            let credentials = try Self.authorization(
                challenge: offer, user: "alice", password: "pw", method: "REGISTER", uri: "sip:example.com", nc: index + 1)
            await self.register(harness, branch: "z9hG4bKa\(index)", cseq: 2 + index, ["Contact: <sip:alice@192.0.2.10>", credentials])
            #expect(harness.statuses.last == 200)
        }
        #expect(await harness.store.allBindings().count == 1)
        // The same wrong answer for a wrong password and an unknown user.
        let wrong = try Self.authorization(challenge: offers[1], user: "alice", password: "nope", method: "REGISTER", uri: "sip:example.com")
        await self.register(harness, branch: "z9hG4bKw1", cseq: 9, ["Contact: <sip:alice@192.0.2.10>", wrong])
        #expect(harness.statuses.last == 401)
    }

    @Test func authenticatedUserMustBeTheClaimedIdentityAndPublishIsChallengedWith407() async throws {
        let harness = EngineHarness(authMode: .digest)
        await harness.store.saveUser(UserRecord(
            username: "bob", domain: "example.com", ha1MD5: DigestHA1.md5(username: "bob", realm: "example.com", password: "pw"),
            ha1SHA256: DigestHA1.sha256(username: "bob", realm: "example.com", password: "pw")))
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp1"))
        let challenge = try #require(harness.sink.responses.last)
        #expect(challenge.statusCode == 407)
        let offer = try #require(challenge.headers[SIPHeaderName(.proxyAuthenticate)])
        // bob's credentials on a PUBLISH whose From is alice.
        let credentials = try Self.authorization(
            challenge: offer, user: "bob", password: "pw", method: "PUBLISH", uri: "sip:alice@example.com", header: "Proxy-Authorization")
        await harness.send(publishRequest(pidf("t1", "open"), branch: "z9hG4bKp2").replacingOccurrences(of: "Event: presence", with: "Event: presence\r\n\(credentials)"))
        #expect(harness.statuses.last == 403)
    }

    @Test func repeatedFailuresAreRefusedForAWhile() async throws {
        let harness = EngineHarness(authMode: .digest)
        await self.register(harness, branch: "z9hG4bKr0", cseq: 1, ["Contact: <sip:alice@192.0.2.10>"])
        let offer = try #require(harness.sink.responses.last?.headers[SIPHeaderName(.wwwAuthenticate)])
        for attempt in 1...12 {
            let wrong = try Self.authorization(challenge: offer, user: "alice", password: "guess\(attempt)", method: "REGISTER", uri: "sip:example.com")
            await self.register(harness, branch: "z9hG4bKg\(attempt)", cseq: 1 + attempt, ["Contact: <sip:alice@192.0.2.10>", wrong])
            await harness.advance(by: .seconds(6))
        }
        #expect(harness.statuses.last == 403)
        #expect(harness.sink.responses.last?.reasonPhrase.contains("too many failed") == true)
    }

    @Test func expiredBindingsAreRemovedOnTime() async throws {
        let harness = EngineHarness()
        await self.register(harness, branch: "z9hG4bKr1", cseq: 1, ["Contact: <sip:alice@192.0.2.10>", "Expires: 60"])
        await harness.advance(by: .seconds(59))
        #expect(await harness.store.allBindings().count == 1)
        await harness.advance(by: .seconds(2))
        #expect(await harness.store.allBindings().isEmpty)
        // The periodic sweep finds nothing left.
        #expect(try await harness.loop.flatSubmit { harness.engine.removeExpiredBindings() }.get() == 0)
    }
}
