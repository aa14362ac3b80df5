/// One Via header value (RFC 3261 §20.42, §18.2.2; RFC 3581 `rport`).
public struct Via: Sendable, Hashable, CustomStringConvertible {
    /// `SIP/2.0` in every message Herald handles.
    public var protocolName: String
    public var protocolVersion: String
    /// Uppercased transport token: UDP, TCP, TLS, SCTP, WS, WSS or an extension.
    public var transport: String
    /// Host name, IPv4 address or bracketed IPv6 reference.
    public var host: String
    public var port: Int?
    public var parameters: [SIPParameter]

    public init(transport: String, host: String, port: Int?, parameters: [SIPParameter] = []) {
        self.protocolName = "SIP"
        self.protocolVersion = "2.0"
        self.transport = transport.uppercased()
        self.host = host
        self.port = port
        self.parameters = parameters
    }

    /// RFC 3261 §8.1.1.7: branches starting with the magic cookie are globally unique.
    public static let magicCookie = "z9hG4bK"

    public var branch: String? {
        get { self.parameters.value(of: "branch") ?? nil }
        set { self.parameters.set("branch", newValue) }
    }
    public var received: String? {
        get { self.parameters.value(of: "received") ?? nil }
        set { self.parameters.set("received", newValue) }
    }
    public var maddr: String? { self.parameters.value(of: "maddr") ?? nil }
    public var ttl: Int? { (self.parameters.value(of: "ttl") ?? nil).flatMap { Int($0) } }
    /// RFC 3581: present without a value when the client asks for symmetric response routing.
    public var hasRPort: Bool { self.parameters.contains("rport") }
    public var rport: Int? {
        get { (self.parameters.value(of: "rport") ?? nil).flatMap { Int($0) } }
        set { self.parameters.set("rport", newValue.map(String.init)) }
    }

    /// A branch that follows RFC 3261 §17.2.3: the magic cookie and something after it.
    public var hasRFC3261Branch: Bool {
        guard let branch = self.branch else { return false }
        return branch.hasPrefix(Self.magicCookie) && branch.count > Self.magicCookie.count
    }

    /// `host[:port]`, the sent-by used in transaction matching (RFC 3261 §17.2.3).
    public var sentBy: String {
        self.host.lowercased() + (self.port.map { ":" + String($0) } ?? "")
    }

    public var description: String {
        var result = "\(self.protocolName)/\(self.protocolVersion)/\(self.transport) \(self.host)"
        if let port = self.port { result += ":" + String(port) }
        return result + self.parameters.serialized
    }

    public init(parsing text: String) throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8))
    }

    init(bytes: [UInt8]) throws(SIPParseError) {
        let malformed = SIPParseError(.malformedHeaderValue, "Malformed Via header")
        var scanner = ByteScanner(bytes)
        scanner.skipWhitespace()
        let name = scanner.readToken()
        guard !name.isEmpty, scanner.consumeSeparator(ASCII.slash) else { throw malformed }
        let version = scanner.readToken()
        guard !version.isEmpty, scanner.consumeSeparator(ASCII.slash) else { throw malformed }
        let transport = scanner.readToken()
        guard !transport.isEmpty else { throw malformed }
        scanner.skipWhitespace()
        let hostStart = scanner.index
        if scanner.peek == ASCII.leftBracket {
            guard let close = bytes[hostStart...].firstIndex(of: ASCII.rightBracket),
                HostValidation.isIPv6(bytes[(hostStart + 1)..<close])
            else { throw SIPParseError(.malformedHeaderValue, "Malformed IPv6 reference in Via header") }
            scanner.index = close + 1
        } else {
            let host = scanner.readWhile { ASCII.isAlphanumeric($0) || $0 == ASCII.dot || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
            guard HostValidation.isHostname(host) || HostValidation.isIPv4(host) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed sent-by host in Via header")
            }
        }
        let host = String(sipBytes: bytes[hostStart..<scanner.index])
        var port: Int?
        if scanner.consumeSeparator(ASCII.colon) {
            let digits = scanner.readWhile(ASCII.isDigit)
            guard !digits.isEmpty, digits.count <= 5, let value = Int(String(sipBytes: digits)), value <= 65535 else {
                throw SIPParseError(.malformedHeaderValue, "Malformed port in Via header")
            }
            port = value
        }
        let parameters = try scanner.readGenericParameters(header: "Via")
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw malformed }
        self.protocolName = String(sipBytes: name)
        self.protocolVersion = String(sipBytes: version)
        self.transport = String(sipBytes: transport).uppercased()
        self.host = host
        self.port = port
        self.parameters = parameters
        try self.validateParameters()
    }

    private func validateParameters() throws(SIPParseError) {
        if let received = self.parameters.value(of: "received") {
            // RFC 5118 §4.5: accept an IPv6 `received` with or without brackets.
            var address = Array((received ?? "").utf8)[...]
            if address.first == ASCII.leftBracket, address.last == ASCII.rightBracket {
                address = address.dropFirst().dropLast()
            }
            guard HostValidation.isIPv4(address) || HostValidation.isIPv6(address) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed received parameter in Via header")
            }
        }
        if let rport = self.parameters.value(of: "rport"), let value = rport {
            guard let port = Int(value), (0...65535).contains(port) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed rport parameter in Via header")
            }
        }
        if let ttl = self.parameters.value(of: "ttl") {
            guard let value = ttl.flatMap({ Int($0) }), (0...255).contains(value) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed ttl parameter in Via header")
            }
        }
        if let branch = self.parameters.value(of: "branch"), branch?.isEmpty ?? true {
            throw SIPParseError(.malformedHeaderValue, "Empty branch parameter in Via header")
        }
    }
}
