import HeraldStore
import HeraldStoreSQLite
import Logging
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
