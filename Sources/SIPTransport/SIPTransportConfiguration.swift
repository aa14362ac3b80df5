import NIOCore
import SIPCore

/// One listening socket: `udp:HOST:PORT`, `tcp:HOST:PORT` or `tls:HOST:PORT`.
public struct SIPListenerSpec: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransportKind
    public var host: String
    public var port: Int

    public init(transport: SIPTransportKind, host: String, port: Int) {
        self.transport = transport
        self.host = host
        self.port = port
    }

    /// Parses `kind:host:port`; an IPv6 host is bracketed (`udp:[::1]:5060`).
    public init(parsing text: String) throws(SIPTransportError) {
        let invalid = SIPTransportError.invalidListenSpec(text)
        guard let firstColon = text.firstIndex(of: ":"), let lastColon = text.lastIndex(of: ":"), firstColon < lastColon,
            let transport = SIPTransportKind(rawValue: text[..<firstColon].lowercased())
        else { throw invalid }
        var host = String(text[text.index(after: firstColon)..<lastColon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: lastColon)...]), (0...65535).contains(port),
            (try? SocketAddress(ipAddress: host, port: port)) != nil
        else { throw invalid }
        self.init(transport: transport, host: host, port: port)
    }

    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(self.transport.rawValue):\(host):\(self.port)"
    }
}

public struct SIPTransportConfiguration: Sendable {
    public var listeners: [SIPListenerSpec]
    public var limits: SIPParserLimits
    /// A TCP or TLS connection with no traffic for this long is closed.
    public var idleTimeout: TimeAmount
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?

    public init(
        listeners: [SIPListenerSpec], limits: SIPParserLimits = SIPParserLimits(), idleTimeout: TimeAmount = .seconds(300),
        tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil
    ) {
        self.listeners = listeners
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
    }
}

public enum SIPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidListenSpec(String)
    case bindFailed(String, reason: String)
    case tlsConfiguration(String)
    case noRoute(String)
    case connectionUnavailable(String)

    public var description: String {
        switch self {
        case .invalidListenSpec(let spec):
            return "invalid listen address '\(spec)': expected udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT with an IP address"
        case .bindFailed(let spec, let reason): return "cannot listen on \(spec): \(reason)"
        case .tlsConfiguration(let reason): return "TLS configuration: \(reason)"
        case .noRoute(let destination): return "no transport to \(destination)"
        case .connectionUnavailable(let destination): return "no connection to \(destination)"
        }
    }
}
