import Foundation
import HeraldEngine
import Logging
import SIPCore
import SIPProtocol
import SIPTransport
import Yams

/// Everything `herald serve` needs, from defaults, then the config file, then flags.
public struct HeraldConfiguration: Sendable {
    public var domains: [String] = ["localhost"]
    public var listeners: [SIPListenerSpec] = [
        SIPListenerSpec(transport: .udp, host: "127.0.0.1", port: 5060),
        SIPListenerSpec(transport: .tcp, host: "127.0.0.1", port: 5060),
    ]
    public var httpHost = "127.0.0.1"
    public var httpPort = 8080
    public var dataDirectory = "./herald-data"
    public var authMode: AuthMode = .digest
    public var logLevel: Logger.Level = .info
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    public var maxMessageSize = 65_535
    public var maxHeaders = 128
    public var tcpIdleTimeoutSeconds = 300
    public var defaultPolicy: DefaultAuthorizationPolicy = .confirm
    /// Seconds a watcher's request may await the presentity's decision (0: none, RFC 3857 §4.7.1).
    public var authorizationWaitSeconds = Int(EngineConfiguration.defaultAuthorizationWait.components.seconds)
    /// Waiting requests one watcher may leave behind (RFC 3857 §4.7.1 recommends a limit).
    public var maxWaitingPerWatcher = EngineConfiguration.defaultMaxWaitingPerWatcher
    public var trustedHosts: [String] = []
    /// Static routes to other domains (`domain=sip:ip:port`), RFC 3261 §16.6 step 7 without DNS.
    public var routes = StaticRouteTable()
    /// The XCAP root path on the HTTP port (RFC 4825 §6.1).
    public var xcapRoot = "/"
    /// HTTP authentication proxies whose X-3GPP-Intended-Identity is believed (TS 24.623).
    public var identityProxies: [String] = []

    public init() {}

    /// The config file's shape (YAML); every key is optional and named as in the README.
    struct File: Decodable {
        var domains: [String]?
        var listen: [String]?
        var http: String?
        var data_dir: String?
        var auth: String?
        var log_level: String?
        var tls_cert: String?
        var tls_key: String?
        var max_message_size: Int?
        var max_headers: Int?
        var tcp_idle_timeout: Int?
        var default_policy: String?
        var authorization_wait: Int?
        var max_waiting_per_watcher: Int?
        var trusted_hosts: [String]?
        var routes: [String: String]?
        var xcap_root: String?
        var identity_proxies: [String]?
    }

    /// Applies a YAML config file over the current values.
    public mutating func apply(configFile path: String) throws(ConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path, error.localizedDescription)
        }
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text.isEmpty ? "{}" : text)
        } catch {
            throw .invalidFile(path, "\(error)")
        }
        if let domains = file.domains { try self.setDomains(domains) }
        if let listen = file.listen { try self.setListeners(listen) }
        if let http = file.http { try self.setHTTP(http) }
        if let dataDirectory = file.data_dir { self.dataDirectory = dataDirectory }
        if let auth = file.auth { try self.setAuth(auth) }
        if let level = file.log_level { try self.setLogLevel(level) }
        if let certificate = file.tls_cert { self.tlsCertificatePath = certificate }
        if let key = file.tls_key { self.tlsKeyPath = key }
        if let size = file.max_message_size { try self.setMaxMessageSize(size) }
        if let headers = file.max_headers { try self.setMaxHeaders(headers) }
        if let timeout = file.tcp_idle_timeout { try self.setIdleTimeout(timeout) }
        if let policy = file.default_policy { try self.setDefaultPolicy(policy) }
        if let wait = file.authorization_wait { try self.setAuthorizationWait(wait) }
        if let limit = file.max_waiting_per_watcher { try self.setMaxWaitingPerWatcher(limit) }
        if let hosts = file.trusted_hosts { try self.setTrustedHosts(hosts) }
        if let root = file.xcap_root { try self.setXCAPRoot(root) }
        if let proxies = file.identity_proxies { try self.setIdentityProxies(proxies) }
        if let routes = file.routes { try self.setRoutes(routes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }) }
    }

    public mutating func setIdentityProxies(_ hosts: [String]) throws(ConfigurationError) {
        for host in hosts where !Self.isIPAddress(host) {
            throw .invalidValue("identity-proxy", "'\(host)': expected an IP address")
        }
        self.identityProxies = hosts
    }

    public mutating func setXCAPRoot(_ root: String) throws(ConfigurationError) {
        guard root.hasPrefix("/"), !root.contains("~~"), !root.contains("?"), !root.contains(" ") else {
            throw .invalidValue("xcap-root", "'\(root)': expected an absolute path such as / or /xcap-root")
        }
        self.xcapRoot = root
    }

    /// Each route is `domain=next-hop`; the next hop must be an IP address: Herald resolves no
    /// names, so a route can never make it send to a host it did not mean to.
    public mutating func setRoutes(_ routes: [String]) throws(ConfigurationError) {
        var parsed = [StaticRouteTable.Route]()
        for text in routes {
            let route: StaticRouteTable.Route
            do {
                route = try StaticRouteTable.parseRoute(text)
            } catch {
                throw .invalidValue("route", error.reason)
            }
            guard Self.isIPAddress(route.nextHop.hostKey) else {
                throw .invalidValue("route", "'\(text)': the next hop must be an IP address")
            }
            parsed.append(route)
        }
        self.routes = StaticRouteTable(parsed)
    }

    public mutating func setTrustedHosts(_ hosts: [String]) throws(ConfigurationError) {
        for host in hosts where !Self.isIPAddress(host) {
            throw .invalidValue("trusted-host", "'\(host)': expected an IP address")
        }
        self.trustedHosts = hosts
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    public mutating func setDefaultPolicy(_ value: String) throws(ConfigurationError) {
        guard let policy = DefaultAuthorizationPolicy(rawValue: value.lowercased()) else {
            throw .invalidValue("default-policy", "'\(value)': expected allow, confirm or block")
        }
        self.defaultPolicy = policy
    }

    public mutating func setAuthorizationWait(_ seconds: Int) throws(ConfigurationError) {
        guard seconds >= 0 else { throw .invalidValue("authorization-wait", "\(seconds): expected 0 or more seconds") }
        self.authorizationWaitSeconds = seconds
    }

    public mutating func setMaxWaitingPerWatcher(_ limit: Int) throws(ConfigurationError) {
        guard limit >= 1 else { throw .invalidValue("max-waiting-per-watcher", "\(limit): expected 1 or more") }
        self.maxWaitingPerWatcher = limit
    }

    /// The engine's form: nil when waiting is off.
    var authorizationWait: Duration? { self.authorizationWaitSeconds > 0 ? .seconds(self.authorizationWaitSeconds) : nil }

    public mutating func setDomains(_ domains: [String]) throws(ConfigurationError) {
        let cleaned = domains.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !cleaned.isEmpty, cleaned.allSatisfy({ !$0.isEmpty && !$0.contains(" ") && !$0.contains("@") }) else {
            throw .invalidValue("domain", domains.joined(separator: ","))
        }
        self.domains = cleaned
    }

    public mutating func setListeners(_ specs: [String]) throws(ConfigurationError) {
        var listeners = [SIPListenerSpec]()
        for spec in specs {
            do {
                listeners.append(try SIPListenerSpec(parsing: spec))
            } catch {
                throw .invalidValue("listen", "\(error)")
            }
        }
        guard !listeners.isEmpty else { throw .invalidValue("listen", "no listener") }
        self.listeners = listeners
    }

    public mutating func setHTTP(_ address: String) throws(ConfigurationError) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw .invalidValue("http", "'\(address)': expected HOST:PORT") }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidValue("http", "'\(address)': expected HOST:PORT") }
        self.httpHost = host
        self.httpPort = port
    }

    public mutating func setAuth(_ value: String) throws(ConfigurationError) {
        guard let mode = AuthMode(rawValue: value.lowercased()) else { throw .invalidValue("auth", "'\(value)': expected digest or none") }
        self.authMode = mode
    }

    public mutating func setLogLevel(_ value: String) throws(ConfigurationError) {
        guard let level = Logger.Level(rawValue: value.lowercased()) else {
            throw .invalidValue("log-level", "'\(value)': expected trace, debug, info, notice, warning, error or critical")
        }
        self.logLevel = level
    }

    public mutating func setMaxMessageSize(_ value: Int) throws(ConfigurationError) {
        guard (512...1_048_576).contains(value) else { throw .invalidValue("max-message-size", "\(value): expected 512...1048576") }
        self.maxMessageSize = value
    }

    public mutating func setMaxHeaders(_ value: Int) throws(ConfigurationError) {
        guard (8...4096).contains(value) else { throw .invalidValue("max-headers", "\(value): expected 8...4096") }
        self.maxHeaders = value
    }

    public mutating func setIdleTimeout(_ value: Int) throws(ConfigurationError) {
        guard (1...86_400).contains(value) else { throw .invalidValue("tcp-idle-timeout", "\(value): expected 1...86400 seconds") }
        self.tcpIdleTimeoutSeconds = value
    }
}

public enum ConfigurationError: Error, Sendable, CustomStringConvertible {
    case unreadableFile(String, String)
    case invalidFile(String, String)
    case invalidValue(String, String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason): return "cannot read config file \(path): \(reason)"
        case .invalidFile(let path, let reason): return "invalid config file \(path): \(reason)"
        case .invalidValue(let key, let detail): return "invalid \(key): \(detail)"
        }
    }
}
