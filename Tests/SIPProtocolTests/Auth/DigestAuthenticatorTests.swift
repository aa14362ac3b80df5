import Testing
@testable import SIPProtocol

@Suite struct DigestAuthenticatorTests {
    let authenticator = DigestAuthenticator(secret: Array("test secret".utf8), nonceLifetimeSeconds: 300)
    let ha1MD5 = DigestHA1.md5(username: "alice", realm: "example.com", password: "pw")
    let ha1SHA = DigestHA1.sha256(username: "alice", realm: "example.com", password: "pw")

    /// Builds credentials as a UA does (RFC 7616 §3.4.1, qop=auth).
    func credentials(
        algorithm: DigestAuthenticator.Algorithm, nonce: String, nc: String = "00000001", password: String = "pw", method: String = "REGISTER"
    ) throws -> DigestAuthParameters {
        let ha1 = algorithm == .md5
            ? DigestHA1.md5(username: "alice", realm: "example.com", password: password)
            : DigestHA1.sha256(username: "alice", realm: "example.com", password: password)
        let ha2 = DigestAuthenticator.hash("\(method):sip:example.com", algorithm)
        let response = DigestAuthenticator.hash("\(ha1):\(nonce):\(nc):0a4f113b:auth:\(ha2)", algorithm)
        return try DigestAuthParameters(parsing:
            "Digest username=\"alice\", realm=\"example.com\", nonce=\"\(nonce)\", uri=\"sip:example.com\", response=\"\(response)\", algorithm=\(algorithm.rawValue), cnonce=\"0a4f113b\", qop=auth, nc=\(nc), opaque=\"x\"")
    }

    func verify(_ credentials: DigestAuthParameters, now: Int64 = 1000, last: UInt32? = nil, method: String = "REGISTER") -> DigestAuthenticator.Verdict {
        self.authenticator.verify(
            credentials, method: method, realm: "example.com",
            ha1: { $0 == .md5 ? self.ha1MD5 : self.ha1SHA }, now: now, lastNonceCount: last
        ).0
    }

    @Test func challengesOfferSHA256ThenMD5WithQopAuth() {
        let challenges = self.authenticator.challenges(realm: "example.com", now: 1000, salt: 1, stale: false)
        #expect(challenges.count == 2)
        #expect(challenges[0].contains("algorithm=SHA-256") && challenges[0].contains("qop=\"auth\""))
        #expect(challenges[1].contains("algorithm=MD5"))
        #expect(self.authenticator.challenges(realm: "example.com", now: 1000, salt: 1, stale: true)[0].hasSuffix("stale=true"))
    }

    @Test(arguments: DigestAuthenticator.Algorithm.allCases)
    func correctCredentialsAuthenticate(_ algorithm: DigestAuthenticator.Algorithm) throws {
        let nonce = self.authenticator.makeNonce(realm: "example.com", now: 1000, salt: 7)
        #expect(self.verify(try self.credentials(algorithm: algorithm, nonce: nonce)) == .authenticated(username: "alice"))
    }

    @Test func wrongPasswordAndUnknownUserGetTheSameAnswer() throws {
        let nonce = self.authenticator.makeNonce(realm: "example.com", now: 1000, salt: 7)
        #expect(self.verify(try self.credentials(algorithm: .md5, nonce: nonce, password: "wrong")) == .challenge(stale: false))
        let unknown = self.authenticator.verify(
            try self.credentials(algorithm: .md5, nonce: nonce), method: "REGISTER", realm: "example.com", ha1: { _ in nil }, now: 1000,
            lastNonceCount: nil)
        #expect(unknown.0 == .challenge(stale: false))
    }

    @Test func oldNonceIsStaleAndForgedNonceIsRefused() throws {
        let nonce = self.authenticator.makeNonce(realm: "example.com", now: 1000, salt: 7)
        #expect(self.verify(try self.credentials(algorithm: .sha256, nonce: nonce), now: 1400) == .challenge(stale: true))
        let forged = "3e8.7.00000000000000000000000000000000"
        #expect(self.verify(try self.credentials(algorithm: .sha256, nonce: forged)) == .challenge(stale: false))
        let otherServer = DigestAuthenticator(secret: Array("other".utf8)).makeNonce(realm: "example.com", now: 1000, salt: 7)
        #expect(self.verify(try self.credentials(algorithm: .sha256, nonce: otherServer)) == .challenge(stale: false))
    }

    @Test func replayedNonceCountIsRefused() throws {
        let nonce = self.authenticator.makeNonce(realm: "example.com", now: 1000, salt: 7)
        let first = try self.credentials(algorithm: .md5, nonce: nonce, nc: "00000002")
        #expect(self.verify(first, last: 2) == .challenge(stale: true))
        #expect(self.verify(first, last: 1) == .authenticated(username: "alice"))
    }

    @Test func credentialsForAnotherMethodDoNotVerify() throws {
        let nonce = self.authenticator.makeNonce(realm: "example.com", now: 1000, salt: 7)
        #expect(self.verify(try self.credentials(algorithm: .md5, nonce: nonce, method: "REGISTER"), method: "SUBSCRIBE") == .challenge(stale: false))
    }

    /// RFC 2617 §3.5 example: the request digest for the well-known credentials (qop=auth).
    @Test func rfc2617ExampleResponse() {
        let ha1 = "939e7578ed9e3c518a452acee763bce9"
        let ha2 = DigestAuthenticator.hash("GET:/dir/index.html", .md5)
        let response = DigestAuthenticator.hash("\(ha1):dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:\(ha2)", .md5)
        #expect(response == "6629fae49393a05397450978507c4ef1")
    }

    /// RFC 7616 §3.9.1: the published responses for SHA-256 and MD5.
    @Test func rfc7616ExampleResponses() {
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
        let qop = (nc: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
        let sha = DigestHA1.sha256(username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life")
        #expect(DigestAuthenticator.response(ha1: sha, nonce: nonce, qop: qop, method: "GET", uri: "/dir/index.html", algorithm: .sha256)
            == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        let md5 = DigestHA1.md5(username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life")
        #expect(DigestAuthenticator.response(ha1: md5, nonce: nonce, qop: qop, method: "GET", uri: "/dir/index.html", algorithm: .md5)
            == "8ca523f5e9506fed4657c9700eebdbec")
    }

    @Test func authParametersParseQuotedAndTokenValues() throws {
        let parsed = try DigestAuthParameters(parsing: "Digest username=\"a\\\"b\", realm=\"r, with comma\",nc=00000001 , qop=auth")
        #expect(parsed.scheme == "Digest")
        #expect(parsed["username"] == "a\"b")
        #expect(parsed["REALM"] == "r, with comma")
        #expect(parsed["nc"] == "00000001")
        #expect(throws: (any Error).self) { try DigestAuthParameters(parsing: "Digest username=\"unterminated") }
        #expect(throws: (any Error).self) { try DigestAuthParameters(parsing: "Digest a=1, a=2") }
    }
}
