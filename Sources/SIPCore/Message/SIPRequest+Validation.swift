/// The parts of a request every layer needs, parsed and checked once on arrival.
public struct RequestEssentials: Sendable {
    public var requestURI: SIPURI
    public var vias: [Via]
    public var from: NameAddress
    public var to: NameAddress
    public var callID: String
    public var cseq: CSeq
    public var maxForwards: Int?
    public var contentType: MediaType?

    public var topVia: Via { self.vias[0] }
}

extension SIPRequest {
    /// Checks what RFC 3261 §8.2.2 and §16.3 require of a request before anything acts on it,
    /// and returns its parsed essentials: the mandatory headers are present once
    /// (§8.1.1, §20), parse, and agree (the CSeq method matches the request method, §8.1.1.5).
    /// Extension methods skip the CSeq check so that they can be answered with 501 (RFC 4475 §3.1.2.18).
    public func validate() throws(SIPParseError) -> RequestEssentials {
        for header in [KnownHeader.to, .from, .cseq, .callID, .via] where !self.headers.fields.contains(where: { $0.known == header }) {
            throw SIPParseError(.missingHeader, "Missing Required Header: \(header.canonicalName)")
        }
        var seen = Set<KnownHeader>()
        for field in self.headers.fields {
            guard let known = field.known, known.isSingleton else { continue }
            if !seen.insert(known).inserted {
                throw SIPParseError(.duplicateHeader, "Multiple \(known.canonicalName) headers")
            }
        }
        let requestURI: SIPURI
        do {
            requestURI = try self.requestURI()
        } catch {
            throw SIPParseError(.malformedRequestURI, "Malformed Request-URI")
        }
        if !requestURI.headers.isEmpty {
            // RFC 3261 §19.1.5: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
            throw SIPParseError(.malformedRequestURI, "Malformed Request-URI: URI headers are not allowed")
        }
        let vias = try self.vias()
        guard !vias.isEmpty else { throw SIPParseError(.missingHeader, "Missing Required Header: Via") }
        let from = try self.from()
        let to = try self.to()
        guard let callID = self.callID, !callID.isEmpty,
            !callID.contains(where: { $0 == " " || $0 == "\t" })
        else {
            throw SIPParseError(.malformedHeaderValue, "Malformed Call-ID header")
        }
        let cseq = try self.cseq()
        if self.method.isKnown, cseq.method != self.method {
            throw SIPParseError(.cseqMethodMismatch, "CSeq method does not match the request method")
        }
        let maxForwards = try self.maxForwards()
        let contentType = try self.contentType()
        _ = try self.contacts()
        _ = try self.routes()
        _ = try self.recordRoutes()
        return RequestEssentials(
            requestURI: requestURI, vias: vias, from: from, to: to, callID: callID, cseq: cseq,
            maxForwards: maxForwards, contentType: contentType)
    }
}

extension SIPResponse {
    /// A response is only matched to a transaction when its Via, CSeq, From, To and Call-ID
    /// parse (RFC 3261 §17.1.3); anything else is discarded (RFC 4475 §3.1.2.5).
    public func validate() throws(SIPParseError) {
        for header in [KnownHeader.to, .from, .cseq, .callID, .via] where !self.headers.fields.contains(where: { $0.known == header }) {
            throw SIPParseError(.missingHeader, "Missing Required Header: \(header.canonicalName)")
        }
        _ = try self.topVia()
        _ = try self.cseq()
        _ = try self.from()
        _ = try self.to()
        if let retryAfter = self.headers.fields.first(where: { $0.known == .retryAfter }) {
            // delta-seconds must fit 32 bits (RFC 3261 §20.33, RFC 4475 §3.1.2.5).
            let digits = retryAfter.valueBytes.prefix { ASCII.isDigit($0) }
            guard !digits.isEmpty, digits.count <= 10, let value = UInt64(String(sipBytes: digits)), value <= UInt64(UInt32.max) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed Retry-After header")
            }
        }
    }
}
