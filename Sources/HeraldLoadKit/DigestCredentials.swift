import Foundation
import SIPCore
import SIPProtocol

/// Answers a 401/407 challenge (RFC 7616, qop=auth): the Authorization or Proxy-Authorization
/// value for `method` to `uri` as `username`, preferring SHA-256 when offered.
public struct DigestCredentials: Sendable {
    public var password: String

    public init(password: String) {
        self.password = password
    }

    /// The whole `Authorization:` (401) or `Proxy-Authorization:` (407) line answering the
    /// challenge in `response`; nil for another status or without a usable challenge.
    public func authorizationLine(answering response: SIPResponse, username: String, method: String, uri: String, cnonce: String) -> String? {
        guard response.statusCode == 401 || response.statusCode == 407 else { return nil }
        let challenge = response.statusCode == 401 ? "WWW-Authenticate" : "Proxy-Authenticate"
        let challenges = response.headers.fields(SIPHeaderName(challenge)).map(\.value)
        guard let value = self.authorization(challenges: challenges, username: username, method: method, uri: uri, cnonce: cnonce) else { return nil }
        return (response.statusCode == 401 ? "Authorization: " : "Proxy-Authorization: ") + value
    }

    public func authorization(
        challenges: [String], username: String, method: String, uri: String, cnonce: String, nonceCount: Int = 1
    ) -> String? {
        let parsed = challenges.compactMap { try? DigestAuthParameters(parsing: $0) }.filter { $0.scheme.lowercased() == "digest" }
        guard
            let challenge = parsed.first(where: { ($0["algorithm"] ?? "MD5").uppercased() == "SHA-256" }) ?? parsed.first,
            let realm = challenge["realm"], let nonce = challenge["nonce"]
        else { return nil }
        let algorithm: DigestAuthenticator.Algorithm = (challenge["algorithm"] ?? "MD5").uppercased() == "SHA-256" ? .sha256 : .md5
        let ha1 = algorithm == .sha256
            ? DigestHA1.sha256(username: username, realm: realm, password: self.password)
            : DigestHA1.md5(username: username, realm: realm, password: self.password)
        let nc = String(format: "%08x", nonceCount)
        let qop = challenge["qop"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains("auth") } ?? false
        let response = DigestAuthenticator.response(
            ha1: ha1, nonce: nonce, qop: qop ? (nc: nc, cnonce: cnonce) : nil, method: method, uri: uri, algorithm: algorithm)
        var value = "Digest username=\"\(username)\", realm=\"\(realm)\", nonce=\"\(nonce)\", uri=\"\(uri)\", response=\"\(response)\", algorithm=\(algorithm.rawValue)"
        if qop { value += ", qop=auth, nc=\(nc), cnonce=\"\(cnonce)\"" }
        if let opaque = challenge["opaque"] { value += ", opaque=\"\(opaque)\"" }
        return value
    }
}
