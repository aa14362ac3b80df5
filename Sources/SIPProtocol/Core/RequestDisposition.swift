import SIPCore

/// Who the server is: the domains it serves and the addresses it listens on.
public struct ServerIdentity: Sendable {
    /// Lowercased domain names and IP literals (IPv6 without brackets).
    public let domains: Set<String>
    /// Lowercased host literals of the listeners (`127.0.0.1`, `::1`).
    public let addresses: Set<String>
    /// The listeners' ports; empty means any port counts as ours.
    public let ports: Set<Int>

    public init(domains: [String], addresses: [String], ports: [Int] = []) {
        self.domains = Set(domains.map { Self.normalize($0) })
        self.addresses = Set(addresses.map { Self.normalize($0) })
        self.ports = Set(ports)
    }

    /// The URI names this server by address (RFC 3261 §16.4): one of its listener addresses and
    /// ports. A UA's contact on the same machine but another port is not us.
    public func isOwnAddress(_ uri: SIPURI) -> Bool {
        guard self.addresses.contains(uri.hostKey) else { return false }
        return self.ports.isEmpty || self.ports.contains(uri.port ?? (uri.scheme == .sips ? 5061 : 5060))
    }

    static func normalize(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// A served domain, or one of the server's own addresses (RFC 3261 §16.4 "myself").
    public func isLocal(_ uri: SIPURI) -> Bool {
        self.domains.contains(uri.hostKey) || self.isOwnAddress(uri)
    }
}

/// What the server implements, as announced in OPTIONS responses and error responses.
public struct ServerCapabilities: Sendable {
    public var allow: [SIPMethod]
    public var accept: [String]
    public var supported: [String]
    public var allowEvents: [String]

    public init(allow: [SIPMethod], accept: [String], supported: [String], allowEvents: [String]) {
        self.allow = allow
        self.accept = accept
        self.supported = supported
        self.allowEvents = allowEvents
    }

    public var allowHeader: String { self.allow.map(\.rawValue).joined(separator: ", ") }
}

public struct HeaderPair: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What the core does with a request that opened a new server transaction.
public enum RequestDisposition: Sendable, Equatable {
    /// Answer with a final error response.
    case reject(status: Int, reason: String? = nil, headers: [HeaderPair] = [])
    /// OPTIONS addressed to the server itself (RFC 3261 §11.2).
    case answerOptions
    /// REGISTER for a served domain (RFC 3261 §10.3).
    case register
    /// A request for a user of a served domain: look the user up and forward (RFC 3261 §16).
    case routeToUser(SIPURI)
    /// An ACK that matched no transaction: it ends nothing here (a 2xx ACK for a UA).
    case absorbAck
    /// A request to route onward (§16.4-16.6): the next Route entry, or a UA's contact in the
    /// Request-URI of an in-dialog request.
    case forwardToNextHop(SIPURI)
    /// A request for another domain with a configured static route (§16.6 step 7): forwarded to
    /// `nextHop` with its Request-URI unchanged, if the sender may relay.
    case relay(nextHop: SIPURI)
}

/// The checks of RFC 3261 §8.2 (UAS) and §16.3 (proxy request validation) that decide how a
/// request is handled, in the order the RFC gives them. Pure: the engine acts on the answer.
public enum CoreRequestRules {
    /// Methods that only make sense inside a dialog or transaction Herald is not part of.
    static let dialogMethods: Set<SIPMethod> = [.bye, .prack, .update, .info, .notify, .cancel]

    public static func disposition(
        for request: SIPRequest, essentials: RequestEssentials, identity: ServerIdentity, capabilities: ServerCapabilities,
        routeTable: StaticRouteTable = StaticRouteTable()
    ) -> RequestDisposition {
        let method = request.method
        let uri = essentials.requestURI
        // §16.4: Route entries naming this proxy are removed. A request in a dialog that Herald
        // record-routed goes on to the next Route entry, or to the peer's contact. Only requests
        // that name Herald in their Route set are routed so: anything else is judged by its
        // Request-URI, so that a foreign Route header cannot make Herald an open relay.
        let routes = (try? request.routes()) ?? []
        let ownRoutes = routes.prefix { identity.isOwnAddress($0.uri) }.count
        if essentials.to.tag != nil, ownRoutes > 0,
            let next = routes.dropFirst(ownRoutes).first?.uri ?? (uri.isSIP && !identity.isLocal(uri) ? uri : nil)
        {
            if essentials.maxForwards == 0 { return method == .ack ? .absorbAck : .reject(status: 483) }
            return .forwardToNextHop(next)
        }
        if method == .ack { return .absorbAck }
        // §8.2.2.1: a scheme the server does not understand.
        guard uri.isSIP else { return .reject(status: 416) }
        // §8.2.1: an unknown method gets 501 with Allow.
        guard method.isKnown else {
            return .reject(status: 501, headers: [HeaderPair("Allow", capabilities.allowHeader)])
        }
        let isLocal = identity.isLocal(uri)
        if method == .register, isLocal {
            return Self.checkRequire(request, capabilities: capabilities) ?? .register
        }
        // The presence server is the UAS for SUBSCRIBE and PUBLISH to its users (RFC 3856 §4):
        // nothing is forwarded, so only the UAS checks apply.
        if isLocal, uri.user != nil, method == .subscribe || method == .publish {
            return Self.checkRequire(request, capabilities: capabilities) ?? .routeToUser(uri)
        }
        let addressedToServer = isLocal && uri.user == nil
        if !addressedToServer {
            // §16.3 step 3: a request that would be forwarded with no hops left.
            if essentials.maxForwards == 0 { return .reject(status: 483) }
            // §16.3 step 5: proxy extensions the server does not support.
            let unsupported = request.headers.tokens(SIPHeaderName(.proxyRequire)).filter { !capabilities.supported.contains($0) }
            if !unsupported.isEmpty {
                return .reject(status: 420, headers: [HeaderPair("Unsupported", unsupported.joined(separator: ", "))])
            }
            // §16.6 step 7: another domain goes by its configured route; without one nothing
            // is relayed (Herald resolves no names).
            guard isLocal else {
                guard let nextHop = routeTable.nextHop(for: uri) else { return .reject(status: 403, reason: "Relaying Not Allowed") }
                return .relay(nextHop: nextHop)
            }
            return .routeToUser(uri)
        }
        if let rejection = Self.checkRequire(request, capabilities: capabilities) { return rejection }
        if let contentType = essentials.contentType, !request.body.isEmpty,
            !capabilities.accept.contains(where: { (try? MediaType(parsing: $0))?.matches(contentType) ?? false })
        {
            // §8.2.3: a body the server cannot process.
            return .reject(status: 415, headers: [HeaderPair("Accept", capabilities.accept.joined(separator: ", "))])
        }
        switch method {
        case .options:
            return .answerOptions
        case _ where Self.dialogMethods.contains(method):
            return .reject(status: 481)
        default:
            return .reject(status: 404)
        }
    }

    /// §8.2.2.3: Require lists extensions the UAS must support.
    static func checkRequire(_ request: SIPRequest, capabilities: ServerCapabilities) -> RequestDisposition? {
        let unsupported = request.headers.tokens(SIPHeaderName(.require)).filter { !capabilities.supported.contains($0) }
        guard !unsupported.isEmpty else { return nil }
        return .reject(status: 420, headers: [HeaderPair("Unsupported", unsupported.joined(separator: ", "))])
    }
}
