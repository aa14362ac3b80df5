import SIPCore

/// Where responses go (RFC 3261 §18.2.1, §18.2.2; RFC 3581 §4).
public enum ResponseRouting {
    /// The topmost Via as the server must record it on receipt: `received` with the source
    /// address, and `rport` filled with the source port when the client asked for it. RFC 3581
    /// §4 adds `received` whenever `rport` is present, even if it repeats the sent-by host.
    /// Returns nil when nothing changes.
    public static func stamp(_ via: Via, sourceIP: String, sourcePort: Int) -> Via? {
        var stamped = via
        let sentByHost = via.host.hasPrefix("[") ? String(via.host.dropFirst().dropLast()) : via.host
        if via.hasRPort {
            if via.rport == nil { stamped.rport = sourcePort }
            stamped.received = sourceIP
        } else if sentByHost.lowercased() != sourceIP.lowercased() {
            stamped.received = sourceIP
        }
        return stamped == via ? nil : stamped
    }

    public struct Target: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// For streams: use the connection the request came on while it is open.
        public var preferSameConnection: Bool
    }

    /// The address a response goes to, from the request's (stamped) topmost Via and where
    /// the request came from. Over streams the request's connection is used when still open,
    /// else a new one to `received` and the sent-by port. Over UDP the response goes to
    /// `received` and `rport` (RFC 3581 §4) or the sent-by port. `maddr` (multicast) is not
    /// honoured: answers go only to the address the request came from.
    public static func target(for via: Via, sourceIP: String, sourcePort: Int, reliable: Bool) -> Target {
        let defaultPort = via.transport == "TLS" ? 5061 : 5060
        if reliable {
            return Target(host: via.received ?? sourceIP, port: via.port ?? defaultPort, preferSameConnection: true)
        }
        let port = via.rport ?? (via.hasRPort ? sourcePort : (via.port ?? defaultPort))
        return Target(host: via.received ?? sourceIP, port: port, preferSameConnection: false)
    }
}

extension SIPRequest {
    /// Rewrites the topmost Via value in place (RFC 3261 §18.2.1), keeping other values.
    public mutating func replaceTopVia(with via: Via) throws(SIPParseError) {
        try self.headers.removeFirstValue(SIPHeaderName(.via))
        self.headers.prepend(SIPHeaderName(.via), via.description)
    }
}
