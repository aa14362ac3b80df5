import ArgumentParser
import Foundation
import HeraldEngine
import HeraldServer
import HeraldStore
import Logging

@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "A SIP presence and event server: registrar, presence, XCAP, resource lists and proxy.",
        subcommands: [Serve.self, User.self, Version.self])
}

/// Options shared by every command that touches the data directory.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "Directory holding the SQLite store (default ./herald-data).")
    var dataDirectory: String?

    func configuration() throws -> HeraldConfiguration {
        var configuration = HeraldConfiguration()
        if let config = self.config { try configuration.apply(configFile: config) }
        if let dataDirectory = self.dataDirectory { configuration.dataDirectory = dataDirectory }
        return configuration
    }
}

/// Ends the process with one line naming the problem, as an operator expects of a daemon.
func fail(_ error: any Error) -> Never {
    FileHandle.standardError.write(Data("herald: error: \(error)\n".utf8))
    exit(1)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server until SIGINT or SIGTERM.")

    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("domain"), help: "A served domain (repeatable; default localhost).")
    var domains: [String] = []

    @Option(name: .customLong("listen"), help: "udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT (repeatable).")
    var listeners: [String] = []

    @Option(name: .long, help: "HTTP address HOST:PORT (default 127.0.0.1:8080).")
    var http: String?

    @Option(name: .long, help: "digest (default) or none (development only).")
    var auth: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain for tls listeners.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for tls listeners.")
    var tlsKey: String?

    @Option(name: .customLong("max-message-size"), help: "Largest SIP message accepted, in bytes (default 65535).")
    var maxMessageSize: Int?

    @Option(name: .customLong("max-headers"), help: "Most header fields accepted in one message (default 128).")
    var maxHeaders: Int?

    @Option(name: .customLong("tcp-idle-timeout"), help: "Seconds before an idle TCP/TLS connection is closed (default 300).")
    var tcpIdleTimeout: Int?

    @Option(name: .customLong("default-policy"), help: "Watchers of presentities without rules: allow, confirm (default) or block.")
    var defaultPolicy: String?

    @Option(
        name: .customLong("authorization-wait"),
        help: "Seconds a watcher's request may await the presentity's decision before it is given up (default 604800; 0: no waiting).")
    var authorizationWait: Int?

    @Option(
        name: .customLong("max-waiting-per-watcher"),
        help: "Waiting requests one watcher may leave behind; beyond it the oldest is given up (default 50).")
    var maxWaitingPerWatcher: Int?

    @Option(name: .customLong("trusted-host"), help: "IP address of a trusted element: not challenged, may watch any reg state (repeatable).")
    var trustedHosts: [String] = []

    @Option(name: .customLong("route"), help: "Static route to another domain: DOMAIN=sip:IP[:PORT][;transport=tcp] (repeatable; * for all).")
    var routes: [String] = []

    @Option(name: .customLong("xcap-root"), help: "XCAP root path on the HTTP port (default /).")
    var xcapRoot: String?

    @Option(name: .customLong("identity-proxy"), help: "IP address of an HTTP authentication proxy whose X-3GPP-Intended-Identity is believed (repeatable).")
    var identityProxies: [String] = []

    func resolvedConfiguration() throws -> HeraldConfiguration {
        var configuration = try self.store.configuration()
        if !self.domains.isEmpty { try configuration.setDomains(self.domains) }
        if !self.listeners.isEmpty { try configuration.setListeners(self.listeners) }
        if let http = self.http { try configuration.setHTTP(http) }
        if let auth = self.auth { try configuration.setAuth(auth) }
        if let level = self.logLevel { try configuration.setLogLevel(level) }
        if let certificate = self.tlsCertificate { configuration.tlsCertificatePath = certificate }
        if let key = self.tlsKey { configuration.tlsKeyPath = key }
        if let size = self.maxMessageSize { try configuration.setMaxMessageSize(size) }
        if let headers = self.maxHeaders { try configuration.setMaxHeaders(headers) }
        if let timeout = self.tcpIdleTimeout { try configuration.setIdleTimeout(timeout) }
        if let policy = self.defaultPolicy { try configuration.setDefaultPolicy(policy) }
        if let wait = self.authorizationWait { try configuration.setAuthorizationWait(wait) }
        if let limit = self.maxWaitingPerWatcher { try configuration.setMaxWaitingPerWatcher(limit) }
        if !self.trustedHosts.isEmpty { try configuration.setTrustedHosts(self.trustedHosts) }
        if !self.routes.isEmpty { try configuration.setRoutes(self.routes) }
        if let root = self.xcapRoot { try configuration.setXCAPRoot(root) }
        if !self.identityProxies.isEmpty { try configuration.setIdentityProxies(self.identityProxies) }
        return configuration
    }

    func run() async throws {
        let configuration: HeraldConfiguration
        do {
            configuration = try self.resolvedConfiguration()
        } catch {
            fail(error)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "herald")
        do {
            try await HeraldRunner.serve(configuration: configuration, logger: logger)
        } catch {
            fail(error)
        }
    }
}

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users of the served domains.", subcommands: [Add.self, Remove.self, List.self, Forward.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user (stores digest HA1 values, never the password).")
        @Argument(help: "USER@DOMAIN") var address: String
        @Option(name: .long, help: "The user's password.") var password: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                let address = try UserAdministration.Address(parsing: self.address)
                guard !self.password.isEmpty else { throw ConfigurationError.invalidValue("password", "must not be empty") }
                let record = UserAdministration.record(for: address, password: self.password)
                try await UserAdministration.withStore(dataDirectory: try self.store.configuration().dataDirectory) { store in
                    try await store.addUser(record)
                }
                print("added \(record.addressOfRecord)")
            } catch {
                fail(error)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user.")
        @Argument(help: "USER@DOMAIN") var address: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                let address = try UserAdministration.Address(parsing: self.address)
                let removed = try await UserAdministration.withStore(dataDirectory: try self.store.configuration().dataDirectory) { store in
                    try await store.removeUser(username: address.username, domain: address.domain)
                }
                guard removed else { throw StoreError.notFound("user \(address.username)@\(address.domain)") }
                print("removed \(address.username)@\(address.domain)")
            } catch {
                fail(error)
            }
        }
    }

    struct Forward: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set a user's call forwarding (seed 004's divert options).",
            discussion: "Without options, prints the rules. A target of 'none' clears that condition; --clear removes all.")
        @Argument(help: "USER@DOMAIN") var address: String
        @Option(name: .long, help: "Divert every call to this SIP URI.") var unconditional: String?
        @Option(name: .long, help: "Divert when every contact is busy (486/600).") var busy: String?
        @Option(name: .customLong("no-answer"), help: "Divert when nobody answers in time.") var noAnswer: String?
        @Option(name: .customLong("no-answer-after"), help: "Seconds before a call counts as unanswered (default 20).") var noAnswerAfter: Int?
        @Option(name: .long, help: "Divert when no contact is registered or reachable.") var unreachable: String?
        @Flag(name: .long, help: "Remove all forwarding rules.") var clear = false
        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                let address = try UserAdministration.Address(parsing: self.address)
                let changes = UserAdministration.ForwardingChanges(
                    unconditional: self.unconditional, busy: self.busy, noAnswer: self.noAnswer, noAnswerSeconds: self.noAnswerAfter,
                    unreachable: self.unreachable, clear: self.clear)
                let rules = try await UserAdministration.withStore(dataDirectory: try self.store.configuration().dataDirectory) { store in
                    try await UserAdministration.updateForwarding(address, changes, in: store)
                }
                print(UserAdministration.describe(rules, for: address))
            } catch {
                fail(error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users, one USER@DOMAIN per line.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                let users = try await UserAdministration.withStore(dataDirectory: try self.store.configuration().dataDirectory) { store in
                    try await store.allUsers()
                }
                for user in users { print(user.addressOfRecord) }
            } catch {
                fail(error)
            }
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() {
        print("herald \(HeraldVersion.current)")
    }
}
