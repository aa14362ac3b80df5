import SIPCore

/// Where requests for other domains go (RFC 3261 §16.6 step 7 "a locally configured route"):
/// a table from domain to next hop, instead of DNS (RFC 3263). A domain entry also covers its
/// subdomains; `*` is the default route. Without a matching entry nothing is relayed.
public struct StaticRouteTable: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        /// Lowercased domain, or `*`.
        public var domain: String
        /// The next hop: a SIP URI naming an IP address (`sip:192.0.2.7:5070;transport=tcp`).
        public var nextHop: SIPURI

        public init(domain: String, nextHop: SIPURI) {
            self.domain = domain.lowercased()
            self.nextHop = nextHop
        }
    }

    public private(set) var routes: [Route]

    public init(_ routes: [Route] = []) {
        self.routes = routes
    }

    /// Parses `domain=next-hop` (the `--route` flag and the `routes` config entries).
    public static func parseRoute(_ text: String) throws(SIPParseError) -> Route {
        guard let equals = text.firstIndex(of: "=") else {
            throw SIPParseError(.malformedHeaderValue, "route \"\(text)\" is not domain=sip:address")
        }
        let domain = text[..<equals].trimmingSpaces
        var hop = text[text.index(after: equals)...].trimmingSpaces
        if !hop.lowercased().hasPrefix("sip:"), !hop.lowercased().hasPrefix("sips:") { hop = "sip:" + hop }
        let uri = try SIPURI(parsing: hop)
        guard !domain.isEmpty, uri.user == nil else {
            throw SIPParseError(.malformedHeaderValue, "route \"\(text)\" needs a domain and a next hop without a user part")
        }
        return Route(domain: domain, nextHop: uri)
    }

    /// The next hop for a request to `uri`: the longest matching domain, else the default.
    public func nextHop(for uri: SIPURI) -> SIPURI? {
        let host = uri.hostKey
        var best: Route?
        for route in self.routes where route.domain == host || host.hasSuffix("." + route.domain) {
            if best == nil || route.domain.count > (best?.domain.count ?? 0) { best = route }
        }
        return (best ?? self.routes.first { $0.domain == "*" })?.nextHop
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
