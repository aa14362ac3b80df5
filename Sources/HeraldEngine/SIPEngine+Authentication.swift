import HeraldStore
import NIOCore
import SIPCore
import SIPProtocol

/// Failed attempts from one source address (RFC 3261 §26.3.2.4 asks servers to resist guessing).
struct AuthenticationFailures {
    var count = 0
    var windowStart: Int64 = 0
    var blockedUntil: Int64 = 0
}

extension SIPEngine {
    /// After this many failures within `failureWindow` seconds, answers are delayed.
    static let failuresBeforeSlowdown = 3
    /// After this many, the source is refused for `blockSeconds`.
    static let failuresBeforeBlock = 10
    static let failureWindow: Int64 = 60
    static let blockSeconds: Int64 = 300

    /// Runs `proceed` once the request is authenticated (RFC 3261 §22): REGISTER is challenged
    /// with 401, everything else with 407. Only identities of served domains can be
    /// authenticated; requests from other domains go on unauthenticated. The authenticated user
    /// must be the identity the request claims (To for REGISTER, From otherwise), else 403.
    func authenticated(_ entry: ServerTransactionEntry, proceed: @escaping @Sendable () -> Void) {
        guard self.configuration.authMode == .digest, !self.isTrusted(entry) else {
            proceed()
            return
        }
        let isRegister = entry.request.method == .register
        let identity = isRegister ? entry.essentials.to.uri : entry.essentials.from.uri
        let realm = identity.hostKey
        guard identity.isSIP, identity.user != nil, self.identity.domains.contains(realm) else {
            proceed()
            return
        }
        let now = self.wallClock()
        let source = entry.destination.address.ipAddress ?? ""
        if let record = self.authenticationFailures[source], record.blockedUntil > now {
            self.respond(entry, status: 403, reason: "Forbidden: too many failed authentication attempts")
            return
        }
        let header = isRegister ? KnownHeader.authorization : .proxyAuthorization
        let credentials = entry.request.headers.fields(SIPHeaderName(header)).compactMap { field in
            try? DigestAuthParameters(parsing: field.value)
        }.first { $0.scheme.lowercased() == "digest" && $0["realm"] == realm }
        guard let credentials else {
            self.challenge(entry, realm: realm, stale: false, failed: false)
            return
        }
        let username = credentials["username"] ?? ""
        let store = self.store
        let nonce = credentials["nonce"] ?? ""
        self.readStore(for: entry, { try await store.user(username: username, domain: realm) }) { user in
            let (verdict, nonceCount) = self.authenticator.verify(
                credentials, method: entry.request.method.rawValue, realm: realm,
                ha1: { algorithm in
                    switch algorithm {
                    case .md5: return user?.ha1MD5
                    case .sha256: return user?.ha1SHA256
                    }
                }, now: self.wallClock(), lastNonceCount: self.nonceCounts[nonce])
            switch verdict {
            case .authenticated(let name):
                if let nonceCount { self.rememberNonceCount(nonce, nonceCount) }
                self.authenticationFailures[source] = nil
                guard name == identity.unescapedUser else {
                    self.respond(entry, status: 403, reason: "Forbidden: authenticated as \(name)@\(realm), not \(identity.addressOfRecord)")
                    return
                }
                proceed()
            case .challenge(let stale):
                self.challenge(entry, realm: realm, stale: stale, failed: !stale)
            case .badRequest(let reason):
                self.respond(entry, status: 400, reason: reason)
            }
        }
    }

    /// The request came from a configured trusted host.
    func isTrusted(_ entry: ServerTransactionEntry) -> Bool {
        guard let source = entry.destination.address.ipAddress else { return false }
        return self.configuration.trustedHosts.contains(source.lowercased())
    }

    private func challenge(_ entry: ServerTransactionEntry, realm: String, stale: Bool, failed: Bool) {
        let isRegister = entry.request.method == .register
        let name = SIPHeaderName(isRegister ? .wwwAuthenticate : .proxyAuthenticate)
        let values = self.authenticator.challenges(realm: realm, now: self.wallClock(), salt: UInt64.random(in: 0...UInt64.max), stale: stale)
        let headers = values.map { (name, $0) }
        let status = isRegister ? 401 : 407
        var delay: Int64 = 0
        if failed {
            let source = entry.destination.address.ipAddress ?? ""
            let now = self.wallClock()
            var record = self.authenticationFailures[source] ?? AuthenticationFailures(windowStart: now)
            if now - record.windowStart > Self.failureWindow { record = AuthenticationFailures(windowStart: now) }
            record.count += 1
            if record.count >= Self.failuresBeforeBlock { record.blockedUntil = now + Self.blockSeconds }
            if record.count > Self.failuresBeforeSlowdown { delay = Int64(record.count - Self.failuresBeforeSlowdown) }
            self.authenticationFailures[source] = record
        }
        if delay > 0 {
            self.loop.scheduleTask(in: .seconds(min(delay, 5))) { self.respond(entry, status: status, headers: headers) }
        } else {
            self.respond(entry, status: status, headers: headers)
        }
    }

    private func rememberNonceCount(_ nonce: String, _ count: UInt32) {
        if self.nonceCounts.count > 50_000 {
            // Forget only nonces too old to be accepted anyway: clearing everything would let
            // a captured request be replayed (RFC 7616 §5.2).
            let oldest = self.wallClock() - self.authenticator.nonceLifetime
            self.nonceCounts = self.nonceCounts.filter { entry in
                entry.key.split(separator: ".").first.flatMap { Int64($0, radix: 16) }.map { $0 >= oldest } ?? false
            }
        }
        self.nonceCounts[nonce] = count
    }
}
