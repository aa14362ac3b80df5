import HeraldStore
import HeraldStoreSQLite
import Logging
import SIPCore
import SIPProtocol

/// `herald user ...`: users are `user@domain`; only digest HA1 values are stored, with the
/// domain as realm (RFC 3261 §22.1 recommends the domain as realm).
public enum UserAdministration {
    public struct Address: Sendable, Equatable {
        public var username: String
        public var domain: String

        public init(parsing text: String) throws(ConfigurationError) {
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                !text.contains(where: { $0 == " " || $0 == ":" || $0 == ";" })
            else {
                throw .invalidValue("user", "'\(text)': expected USER@DOMAIN")
            }
            self.username = String(parts[0])
            self.domain = String(parts[1]).lowercased()
        }
    }

    public static func record(for address: Address, password: String) -> UserRecord {
        UserRecord(
            username: address.username, domain: address.domain,
            ha1MD5: DigestHA1.md5(username: address.username, realm: address.domain, password: password),
            ha1SHA256: DigestHA1.sha256(username: address.username, realm: address.domain, password: password))
    }

    /// Changes to a user's forwarding rules: nil leaves a field alone, "none" clears it.
    public struct ForwardingChanges: Sendable {
        public var unconditional, busy, noAnswer: String?
        public var noAnswerSeconds: Int?
        public var unreachable: String?
        public var clear: Bool

        public init(unconditional: String? = nil, busy: String? = nil, noAnswer: String? = nil, noAnswerSeconds: Int? = nil, unreachable: String? = nil, clear: Bool = false) {
            self.unconditional = unconditional
            self.busy = busy
            self.noAnswer = noAnswer
            self.noAnswerSeconds = noAnswerSeconds
            self.unreachable = unreachable
            self.clear = clear
        }

        public var isEmpty: Bool {
            self.unconditional == nil && self.busy == nil && self.noAnswer == nil && self.noAnswerSeconds == nil && self.unreachable == nil && !self.clear
        }
    }

    /// Applies `changes` to the user's stored rules and returns the result; the user must exist,
    /// targets must be SIP URIs naming a user, and the no-answer time 1-600 seconds.
    public static func updateForwarding(_ address: Address, _ changes: ForwardingChanges, in store: any HeraldStore) async throws -> ForwardingRules {
        guard try await store.user(username: address.username, domain: address.domain) != nil else {
            throw StoreError.notFound("user \(address.username)@\(address.domain)")
        }
        var rules = changes.clear ? ForwardingRules() : (try await store.forwardingRules(username: address.username, domain: address.domain) ?? ForwardingRules())
        guard !changes.isEmpty else { return rules }
        func target(_ value: String?, _ current: String?, _ name: String) throws(ConfigurationError) -> String? {
            guard let value else { return current }
            if value.lowercased() == "none" || value.isEmpty { return nil }
            guard let uri = try? SIPURI(parsing: value), uri.isSIP, uri.user != nil else {
                throw .invalidValue(name, "'\(value)': expected a SIP URI such as sip:bob@example.com")
            }
            return uri.description
        }
        rules.unconditional = try target(changes.unconditional, rules.unconditional, "unconditional")
        rules.busy = try target(changes.busy, rules.busy, "busy")
        rules.noAnswer = try target(changes.noAnswer, rules.noAnswer, "no-answer")
        rules.unreachable = try target(changes.unreachable, rules.unreachable, "unreachable")
        if let seconds = changes.noAnswerSeconds {
            guard (1...600).contains(seconds) else { throw ConfigurationError.invalidValue("no-answer-after", "\(seconds): expected 1 to 600 seconds") }
            rules.noAnswerSeconds = seconds
        }
        try await store.setForwardingRules(rules, username: address.username, domain: address.domain)
        return rules
    }

    /// One line per condition, for `herald user forward`.
    public static func describe(_ rules: ForwardingRules, for address: Address) -> String {
        var lines = ["forwarding for \(address.username)@\(address.domain):"]
        lines.append("  unconditional: \(rules.unconditional ?? "-")")
        lines.append("  busy: \(rules.busy ?? "-")")
        lines.append("  no-answer: \(rules.noAnswer ?? "-") after \(rules.noAnswerSeconds) s")
        lines.append("  unreachable: \(rules.unreachable ?? "-")")
        return lines.joined(separator: "\n")
    }

    public static func withStore<T: Sendable>(dataDirectory: String, _ body: (any HeraldStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "herald.store")
        logger.logLevel = .warning
        let store = try await SQLiteHeraldStore.open(dataDirectory: dataDirectory, logger: logger)
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
