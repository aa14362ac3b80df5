import Foundation
import HeraldEngine
import HeraldStore
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import SIPProtocol

/// A user of a served domain, as authenticated on the HTTP port.
public struct AuthenticatedUser: Sendable, Equatable {
    public var username: String
    public var domain: String

    public init(username: String, domain: String) {
        self.username = username
        self.domain = domain.lowercased()
    }

    /// `sip:user@domain`, as the SIP side names the user (`SIPURI.addressOfRecord`).
    public var addressOfRecord: String { "sip:\(self.username)@\(self.domain)" }

    /// Parses `user@domain`, `sip:user@domain` or a bare `user` (then in `defaultDomain`).
    static func parse(_ text: String, defaultDomain: String?) -> AuthenticatedUser? {
        var identity = text.trimmingCharacters(in: CharacterSet(charactersIn: "\" <>"))
        if identity.lowercased().hasPrefix("sip:") {
            identity.removeFirst(4)
        } else if identity.contains(":") {
            return nil  // tel:, sips: and others name no user of this store
        }
        if let at = identity.lastIndex(of: "@") {
            let user = String(identity[..<at])
            let domain = String(identity[identity.index(after: at)...]).split(separator: ";").first.map(String.init) ?? ""
            guard !user.isEmpty, !domain.isEmpty else { return nil }
            return AuthenticatedUser(username: user, domain: domain)
        }
        guard !identity.isEmpty, let defaultDomain else { return nil }
        return AuthenticatedUser(username: identity, domain: defaultDomain)
    }
}

/// HTTP authentication against the SIP user store (RFC 4825 §11 asks XCAP servers for HTTP
/// Digest; RCS clients also use Basic over TLS). Digest uses the same nonce scheme as SIP
/// (RFC 7616, SHA-256 and MD5, qop=auth, nonce-count replay protection); Basic checks the
/// password by recomputing the stored HA1. `X-3GPP-Intended-Identity` (3GPP TS 24.623) names
/// the user only when the request comes from a trusted proxy that authenticated her.
public final class HTTPAuthentication: Sendable {
    public enum Outcome: Sendable, Equatable {
        case authenticated(AuthenticatedUser)
        /// No or wrong credentials: answer 401 with these WWW-Authenticate values.
        case challenge([String])
        case badRequest(String)
    }

    let store: any HeraldStore
    let domains: [String]
    /// SIP-level trusted hosts (a voicemail system posting MWI).
    let trustedHosts: Set<String>
    /// Authentication proxies (3GPP TS 24.623 aggregation proxies) whose
    /// `X-3GPP-Intended-Identity` names the user; a separate list from the SIP trusted hosts.
    let identityProxies: Set<String>
    let authMode: AuthMode
    let digest = DigestAuthenticator(secret: (0..<32).map { _ in UInt8.random(in: 0...255) })
    /// Highest nonce-count seen per nonce, with when it was first seen (entries older than the
    /// nonce lifetime are useless and dropped).
    private let nonceCounts = NIOLockedValueBox<[String: (count: UInt32, firstSeen: Int64)]>([:])

    public init(store: any HeraldStore, domains: [String], trustedHosts: Set<String>, identityProxies: Set<String> = [], authMode: AuthMode) {
        self.store = store
        self.domains = domains.map { $0.lowercased() }
        self.trustedHosts = trustedHosts
        self.identityProxies = identityProxies
        self.authMode = authMode
    }

    /// Authenticates `request` in `realm` (the domain of the user whose resource it names, or
    /// the first served domain). With `--auth none` (development only) the request acts as
    /// `resourceOwner`, the user whose resource it names.
    public func authenticate(_ request: Request, context: HeraldRequestContext, realm: String, resourceOwner: AuthenticatedUser?) async throws -> Outcome {
        let realm = realm.lowercased()
        if self.authMode == .none, let resourceOwner { return .authenticated(resourceOwner) }
        if let intended = request.headers[HTTPField.Name("X-3GPP-Intended-Identity")!],
            let peer = context.remoteAddress?.ipAddress, self.identityProxies.contains(peer.lowercased()),
            let user = AuthenticatedUser.parse(intended, defaultDomain: nil), self.domains.contains(user.domain)
        {
            return .authenticated(user)
        }
        guard let authorization = request.headers[.authorization] else { return .challenge(self.challenges(realm: realm, stale: false)) }
        let lowered = authorization.lowercased()
        if lowered.hasPrefix("basic ") {
            return try await self.checkBasic(String(authorization.dropFirst(6)), realm: realm)
        }
        guard lowered.hasPrefix("digest "), let credentials = try? DigestAuthParameters(parsing: authorization) else {
            return .challenge(self.challenges(realm: realm, stale: false))
        }
        return try await self.checkDigest(credentials, method: request.method.rawValue, target: request.head.path ?? "/", realm: realm)
    }

    /// The request comes from a configured trusted host.
    public func isTrustedPeer(_ context: HeraldRequestContext) -> Bool {
        guard let peer = context.remoteAddress?.ipAddress else { return false }
        return self.trustedHosts.contains(peer.lowercased())
    }

    func challenges(realm: String, stale: Bool) -> [String] {
        let now = Int64(Date().timeIntervalSince1970)
        return self.digest.challenges(realm: realm, now: now, salt: UInt64.random(in: 0...UInt64.max), stale: stale)
            + ["Basic realm=\"\(realm)\", charset=\"UTF-8\""]
    }

    private func checkBasic(_ encoded: String, realm: String) async throws -> Outcome {
        guard let data = Data(base64Encoded: encoded.trimmingCharacters(in: .whitespaces)), let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":")
        else { return .badRequest("malformed Basic credentials") }
        let password = String(decoded[decoded.index(after: colon)...])
        guard let user = AuthenticatedUser.parse(String(decoded[..<colon]), defaultDomain: realm) else {
            return .challenge(self.challenges(realm: realm, stale: false))
        }
        let record = try await self.store.user(username: user.username, domain: user.domain)
        // The stored HA1 is H(user:domain:password): recompute it from the password given. An
        // unknown user costs the same hash and comparison (no user enumeration by timing).
        let candidate = DigestHA1.sha256(username: user.username, realm: user.domain, password: password)
        let stored = record?.ha1SHA256 ?? String(repeating: "0", count: candidate.count)
        guard Self.constantTimeEqual(candidate, stored), record != nil else { return .challenge(self.challenges(realm: realm, stale: false)) }
        return .authenticated(user)
    }

    private func checkDigest(_ credentials: DigestAuthParameters, method: String, target: String, realm: String) async throws -> Outcome {
        guard let username = credentials["username"], self.domains.contains(realm) else {
            return .challenge(self.challenges(realm: realm, stale: false))
        }
        // RFC 7616 §3.4: qop=auth (a nonce-count to stop replays) and the credentials must be
        // for this very request-target, not one captured from another request.
        guard credentials["qop"]?.lowercased() == "auth" else { return .challenge(self.challenges(realm: realm, stale: false)) }
        guard credentials["uri"] == target else { return .badRequest("Digest uri does not match the request target") }
        let record = try await self.store.user(username: username, domain: realm)
        let nonce = credentials["nonce"] ?? ""
        let last = self.nonceCounts.withLockedValue { $0[nonce]?.count }
        let (verdict, count) = self.digest.verify(
            credentials, method: method, realm: realm,
            ha1: { algorithm in record.map { algorithm == .sha256 ? $0.ha1SHA256 : $0.ha1MD5 } },
            now: Int64(Date().timeIntervalSince1970), lastNonceCount: last)
        switch verdict {
        case .authenticated:
            guard let count else { return .challenge(self.challenges(realm: realm, stale: false)) }
            // Check and record the count in one step: two requests racing with one count
            // cannot both pass.
            let now = Int64(Date().timeIntervalSince1970)
            let lifetime = self.digest.nonceLifetime
            let fresh = self.nonceCounts.withLockedValue { counts -> Bool in
                if let seen = counts[nonce], seen.count >= count { return false }
                if counts.count > 50_000 { counts = counts.filter { now - $0.value.firstSeen <= lifetime } }
                counts[nonce] = (count, counts[nonce]?.firstSeen ?? now)
                return true
            }
            guard fresh else { return .challenge(self.challenges(realm: realm, stale: false)) }
            return .authenticated(AuthenticatedUser(username: username, domain: realm))
        case .challenge(let stale):
            return .challenge(self.challenges(realm: realm, stale: stale))
        case .badRequest(let reason):
            return .badRequest(reason)
        }
    }

    /// RFC 3261 §26.3.2.4 asks servers to resist password guessing; the HTTP port shares the
    /// SIP side's policy: after 10 wrong credentials within a minute a source is refused for
    /// five minutes (429 with Retry-After).
    static let failuresBeforeBlock = 10
    static let failureWindow: Int64 = 60
    static let blockSeconds: Int64 = 300
    private let failures = NIOLockedValueBox<[String: (count: Int, windowStart: Int64, blockedUntil: Int64)]>([:])

    private func recordFailure(source: String, now: Int64) {
        self.failures.withLockedValue { table in
            if table.count > 10_000 { table = table.filter { $0.value.blockedUntil > now || now - $0.value.windowStart <= Self.failureWindow } }
            var entry = table[source] ?? (0, now, 0)
            if now - entry.windowStart > Self.failureWindow { entry = (0, now, 0) }
            entry.count += 1
            if entry.count >= Self.failuresBeforeBlock { entry.blockedUntil = now + Self.blockSeconds }
            table[source] = entry
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// Authenticates and returns the user, or the response to send instead.
    public func require(
        _ request: Request, context: HeraldRequestContext, realm: String, resourceOwner: AuthenticatedUser?
    ) async throws -> Result<AuthenticatedUser, HTTPFailure> {
        let source = context.remoteAddress?.ipAddress ?? ""
        let now = Int64(Date().timeIntervalSince1970)
        if let blockedUntil = self.failures.withLockedValue({ $0[source]?.blockedUntil }), blockedUntil > now {
            var failure = HTTPFailure(status: .tooManyRequests, text: "too many failed authentication attempts\n")
            failure.retryAfter = Int(blockedUntil - now)
            return .failure(failure)
        }
        switch try await self.authenticate(request, context: context, realm: realm, resourceOwner: resourceOwner) {
        case .authenticated(let user):
            return .success(user)
        case .challenge(let values):
            if request.headers[.authorization] != nil { self.recordFailure(source: source, now: now) }
            return .failure(HTTPFailure(status: .unauthorized, text: "authentication required\n", challenges: values))
        case .badRequest(let reason):
            return .failure(HTTPFailure(status: .badRequest, text: reason + "\n"))
        }
    }
}

/// An error answer: status, a plain-text reason, and for 401 the challenges.
public struct HTTPFailure: Error, Sendable {
    public var status: HTTPResponse.Status
    public var text: String
    public var challenges: [String] = []
    public var contentType = "text/plain; charset=utf-8"
    public var retryAfter: Int?

    public init(status: HTTPResponse.Status, text: String, challenges: [String] = [], contentType: String = "text/plain; charset=utf-8") {
        self.status = status
        self.text = text
        self.challenges = challenges
        self.contentType = contentType
    }

    public var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = self.contentType
        for challenge in self.challenges { headers.append(HTTPField(name: .wwwAuthenticate, value: challenge)) }
        if let retryAfter = self.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: self.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: self.text)))
    }
}
