/// Messages that carry headers: typed accessors for the headers the server interprets,
/// parsed on use (RFC 3261 §20).
public protocol SIPHeaderCarrying: Sendable {
    var headers: SIPHeaders { get set }
    var body: ArraySlice<UInt8> { get set }
}

extension SIPRequest: SIPHeaderCarrying {}
extension SIPResponse: SIPHeaderCarrying {}

extension SIPHeaderCarrying {
    /// Every Via value, topmost first, over all Via lines (RFC 3261 §20.42).
    public func vias() throws(SIPParseError) -> [Via] {
        var result = [Via]()
        for element in try self.headers.listValues(SIPHeaderName(.via)) {
            guard !element.isEmpty else {
                throw SIPParseError(.malformedHeaderValue, "Malformed Via header: empty value between commas")
            }
            result.append(try Via(bytes: element))
        }
        return result
    }

    public func topVia() throws(SIPParseError) -> Via {
        guard let field = self.headers.fields.first(where: { $0.known == .via }),
            let first = try HeaderValueSplitter.split(field.valueBytes, header: "Via").first, !first.isEmpty
        else {
            throw SIPParseError(.missingHeader, "Missing Via header")
        }
        return try Via(bytes: first)
    }

    /// The branch parameter of the topmost Via, read straight from the header bytes: all a
    /// client transaction needs to match a response (RFC 3261 §17.1.3), found without
    /// building a `Via` (thousands of NOTIFY answers a second). Nil without a Via or a branch;
    /// whether the rest of the Via is well formed is not checked.
    public func topViaBranch() -> String? {
        guard let field = self.headers.fields.first(where: { $0.known == .via }) else { return nil }
        let value = field.rawValue
        var index = value.startIndex
        var inQuotes = false
        while index < value.endIndex {
            let byte = value[index]
            if inQuotes, byte == ASCII.backslash {
                index += 2  // a quoted-pair (RFC 3261 §25.1): the next byte is text
                continue
            } else if byte == ASCII.quote {
                inQuotes.toggle()
            } else if !inQuotes, byte == ASCII.comma {
                return nil  // the first via-parm ended without a branch
            } else if !inQuotes, byte == ASCII.semicolon {
                var name = index + 1
                while name < value.endIndex, Self.isLinearWhitespace(value[name]) { name += 1 }
                var nameEnd = name
                while nameEnd < value.endIndex, ASCII.isToken(value[nameEnd]) { nameEnd += 1 }
                if Self.isBranchName(value[name..<nameEnd]) {
                    var start = nameEnd
                    while start < value.endIndex, Self.isLinearWhitespace(value[start]) { start += 1 }
                    guard start < value.endIndex, value[start] == ASCII.equals else { return nil }
                    start += 1
                    while start < value.endIndex, Self.isLinearWhitespace(value[start]) { start += 1 }
                    var end = start
                    while end < value.endIndex, ASCII.isToken(value[end]) { end += 1 }
                    return end > start ? String(decoding: value[start..<end], as: UTF8.self) : nil
                }
                index = nameEnd
                continue
            }
            index += 1
        }
        return nil
    }

    private static func isLinearWhitespace(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab || byte == ASCII.cr || byte == ASCII.lf
    }

    /// `branch`, compared case-insensitively as parameter names are (RFC 3261 §7.3.1).
    private static func isBranchName(_ name: ArraySlice<UInt8>) -> Bool {
        guard name.count == 6 else { return false }
        return zip(name, "branch".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    public func from() throws(SIPParseError) -> NameAddress { try self.singleAddress(.from) }
    public func to() throws(SIPParseError) -> NameAddress { try self.singleAddress(.to) }

    public var callID: String? { self.headers[SIPHeaderName(.callID)] }

    public func cseq() throws(SIPParseError) -> CSeq {
        guard let field = self.headers.fields.first(where: { $0.known == .cseq }) else {
            throw SIPParseError(.missingHeader, "Missing CSeq header")
        }
        return try CSeq(bytes: field.valueBytes)
    }

    /// Contact values; nil when there is no Contact header.
    public func contacts() throws(SIPParseError) -> ContactValue? {
        let elements = try self.headers.listValues(SIPHeaderName(.contact))
        guard !elements.isEmpty else {
            return self.headers.contains(SIPHeaderName(.contact)) ? .addresses([]) : nil
        }
        if elements.count == 1, HeaderValueSplitter.trimmed(elements[0][...]) == [UInt8(ascii: "*")] {
            return .wildcard
        }
        var addresses = [NameAddress]()
        for element in elements {
            if element == [UInt8(ascii: "*")] {
                throw SIPParseError(.malformedHeaderValue, "Contact * must be the only Contact value")
            }
            addresses.append(try NameAddress(bytes: element, header: "Contact"))
        }
        return .addresses(addresses)
    }

    public func routes() throws(SIPParseError) -> [NameAddress] { try self.addressList(.route) }
    public func recordRoutes() throws(SIPParseError) -> [NameAddress] { try self.addressList(.recordRoute) }
    public func paths() throws(SIPParseError) -> [NameAddress] { try self.addressList(.path) }

    /// Content-Length; nil when absent. Several values or a non-number are errors (RFC 4475 §3.1.2.3, §3.3.9).
    public func contentLength() throws(SIPParseError) -> Int? {
        let fields = self.headers.fields.filter { $0.known == .contentLength }
        guard let field = fields.first else { return nil }
        guard fields.count == 1 else {
            throw SIPParseError(.duplicateHeader, "Multiple Content-Length headers")
        }
        guard let value = DecimalParsing.parse(field.valueBytes, limit: UInt64(Int32.max)) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed Content-Length header")
        }
        return Int(value)
    }

    public func contentType() throws(SIPParseError) -> MediaType? {
        guard let field = self.headers.fields.first(where: { $0.known == .contentType }) else { return nil }
        return try MediaType(bytes: field.valueBytes)
    }

    /// Max-Forwards (RFC 3261 §20.22). An overlarge value is treated as absent (RFC 4475 §3.1.2.4).
    public func maxForwards() throws(SIPParseError) -> Int? {
        guard let field = self.headers.fields.first(where: { $0.known == .maxForwards }) else { return nil }
        guard let value = DecimalParsing.parse(field.valueBytes, limit: 256) else {
            throw SIPParseError(.malformedHeaderValue, "Malformed Max-Forwards header")
        }
        return value > 255 ? nil : Int(value)
    }

    /// Expires in seconds (RFC 3261 §20.19), clamped to 2**32-1; nil when absent or malformed.
    public var expires: UInt32? {
        guard let field = self.headers.fields.first(where: { $0.known == .expires }) else { return nil }
        return DecimalParsing.parse(field.valueBytes, limit: UInt64(UInt32.max)).map { UInt32($0) }
    }

    private func singleAddress(_ header: KnownHeader) throws(SIPParseError) -> NameAddress {
        guard let field = self.headers.fields.first(where: { $0.known == header }) else {
            throw SIPParseError(.missingHeader, "Missing \(header.canonicalName) header")
        }
        return try NameAddress(bytes: field.valueBytes, header: header.canonicalName)
    }

    private func addressList(_ header: KnownHeader) throws(SIPParseError) -> [NameAddress] {
        var result = [NameAddress]()
        for element in try self.headers.listValues(SIPHeaderName(header)) {
            result.append(try NameAddress(bytes: element, header: header.canonicalName))
        }
        return result
    }
}
