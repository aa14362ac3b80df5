import Crypto
import SIPCore

/// Digest authentication of SIP requests (RFC 3261 §22.4, RFC 7616, RFC 8760): challenges with
/// SHA-256 and MD5, server nonces that carry their creation time under an HMAC (so they need no
/// table and expire), qop=auth with nonce-count replay protection, and opaque.
public struct DigestAuthenticator: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256 = "SHA-256"
        case md5 = "MD5"
    }

    public enum Verdict: Sendable, Equatable {
        case authenticated(username: String)
        /// Challenge again; `stale` when only the nonce was too old (RFC 7616 §3.3).
        case challenge(stale: Bool)
        /// Malformed credentials.
        case badRequest(String)
    }

    public let secret: [UInt8]
    public let nonceLifetime: Int64
    public let opaque: String

    public init(secret: [UInt8], nonceLifetimeSeconds: Int64 = 300) {
        self.secret = secret
        self.nonceLifetime = nonceLifetimeSeconds
        self.opaque = Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Array("opaque".utf8), using: SymmetricKey(data: secret))).prefix(8))
    }

    /// A nonce for `now`: `timestamp-hex` + HMAC(secret, timestamp:realm).
    public func makeNonce(realm: String, now: Int64, salt: UInt64) -> String {
        let stamp = String(now, radix: 16) + "." + String(salt, radix: 16)
        return stamp + "." + self.mac(stamp, realm: realm)
    }

    private func mac(_ stamp: String, realm: String) -> String {
        Self.hex(Array(HMAC<SHA256>.authenticationCode(for: Array("\(stamp):\(realm)".utf8), using: SymmetricKey(data: self.secret))).prefix(16))
    }

    /// Whether `nonce` was issued by this server for `realm`, and whether it is still fresh.
    public func checkNonce(_ nonce: String, realm: String, now: Int64) -> (valid: Bool, fresh: Bool) {
        let parts = nonce.split(separator: ".")
        guard parts.count == 3, let issued = Int64(parts[0], radix: 16) else { return (false, false) }
        let stamp = "\(parts[0]).\(parts[1])"
        guard Self.constantTimeEqual(self.mac(stamp, realm: realm), String(parts[2])) else { return (false, false) }
        return (true, now - issued >= 0 && now - issued <= self.nonceLifetime)
    }

    /// The challenge header values, SHA-256 first (RFC 8760 §2.4: strongest first).
    public func challenges(realm: String, now: Int64, salt: UInt64, stale: Bool) -> [String] {
        let nonce = self.makeNonce(realm: realm, now: now, salt: salt)
        return Algorithm.allCases.map { algorithm in
            "Digest realm=\"\(realm)\", nonce=\"\(nonce)\", opaque=\"\(self.opaque)\", algorithm=\(algorithm.rawValue), qop=\"auth\""
                + (stale ? ", stale=true" : "")
        }
    }

    /// Checks credentials against the user's HA1 for the algorithm they used. `lastNonceCount`
    /// is the highest nc accepted for this nonce so far (replay protection, RFC 7616 §3.3);
    /// the caller records the returned one.
    public func verify(
        _ credentials: DigestAuthParameters, method: String, realm: String, ha1: (Algorithm) -> String?, now: Int64,
        lastNonceCount: UInt32?
    ) -> (Verdict, nonceCount: UInt32?) {
        guard credentials.scheme.lowercased() == "digest" else { return (.challenge(stale: false), nil) }
        guard let username = credentials["username"], let nonce = credentials["nonce"], let uri = credentials["uri"],
            let response = credentials["response"], credentials["realm"] == realm
        else { return (.badRequest("Bad Request: incomplete Digest credentials"), nil) }
        guard let algorithm = Algorithm(rawValue: (credentials["algorithm"] ?? "MD5").uppercased()) else {
            return (.challenge(stale: false), nil)
        }
        let (valid, fresh) = self.checkNonce(nonce, realm: realm, now: now)
        guard valid else { return (.challenge(stale: false), nil) }
        guard let secret = ha1(algorithm) else {
            // Unknown user: the same answer as a wrong password (no user enumeration).
            return (.challenge(stale: false), nil)
        }
        let expected: String
        var nonceCount: UInt32?
        if let qop = credentials["qop"] {
            guard qop.lowercased() == "auth", let cnonce = credentials["cnonce"], let ncText = credentials["nc"],
                let nc = UInt32(ncText, radix: 16)
            else { return (.badRequest("Bad Request: unsupported qop or missing cnonce/nc"), nil) }
            expected = Self.response(
                ha1: secret, nonce: nonce, qop: (nc: ncText, cnonce: cnonce), method: method, uri: uri, algorithm: algorithm)
            nonceCount = nc
        } else {
            expected = Self.response(ha1: secret, nonce: nonce, qop: nil, method: method, uri: uri, algorithm: algorithm)
        }
        guard Self.constantTimeEqual(expected, response.lowercased()) else { return (.challenge(stale: false), nil) }
        guard fresh else { return (.challenge(stale: true), nil) }
        if let nonceCount, let last = lastNonceCount, nonceCount <= last {
            // A replayed or reordered nonce-count: make the client start over with a new nonce.
            return (.challenge(stale: true), nil)
        }
        return (.authenticated(username: username), nonceCount)
    }

    /// The request-digest (RFC 7616 §3.4.1): with qop=auth
    /// `H(HA1:nonce:nc:cnonce:auth:H(method:uri))`, without qop (RFC 2069) `H(HA1:nonce:H(method:uri))`.
    public static func response(
        ha1: String, nonce: String, qop: (nc: String, cnonce: String)?, method: String, uri: String, algorithm: Algorithm
    ) -> String {
        let ha2 = Self.hash("\(method):\(uri)", algorithm)
        guard let qop else { return Self.hash("\(ha1):\(nonce):\(ha2)", algorithm) }
        return Self.hash("\(ha1):\(nonce):\(qop.nc):\(qop.cnonce):auth:\(ha2)", algorithm)
    }

    public static func hash(_ text: String, _ algorithm: Algorithm) -> String {
        switch algorithm {
        case .md5: return Self.hex(Array(Insecure.MD5.hash(data: Array(text.utf8))))
        case .sha256: return Self.hex(Array(SHA256.hash(data: Array(text.utf8))))
        }
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 { DigestHA1.hex(bytes) }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
