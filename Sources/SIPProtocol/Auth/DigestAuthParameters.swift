import SIPCore

/// The `auth-param` list of a Digest challenge or credentials (RFC 3261 §25.1, RFC 7616 §3.3):
/// `Digest name=token, name="quoted", ...`. Names compare case-insensitively; quoted values are
/// unquoted.
public struct DigestAuthParameters: Sendable, Equatable {
    public var scheme: String
    public var values: [String: String]

    public init(scheme: String, values: [String: String]) {
        self.scheme = scheme
        self.values = values
    }

    public subscript(_ name: String) -> String? { self.values[name.lowercased()] }

    /// Parses one Authorization / Proxy-Authorization value.
    public init(parsing text: String) throws(SIPParseError) {
        let malformed = SIPParseError(.malformedHeaderValue, "Malformed Authorization header")
        var scalars = Substring(text)
        while scalars.first == " " || scalars.first == "\t" { scalars = scalars.dropFirst() }
        guard let space = scalars.firstIndex(where: { $0 == " " || $0 == "\t" }) else { throw malformed }
        self.scheme = String(scalars[..<space])
        var values = [String: String]()
        var rest = scalars[space...]
        while true {
            while let first = rest.first, first == " " || first == "\t" || first == "," { rest = rest.dropFirst() }
            if rest.isEmpty { break }
            guard let equals = rest.firstIndex(of: "=") else { throw malformed }
            let name = rest[..<equals].trimmingWhitespace.lowercased()
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { throw malformed }
            rest = rest[rest.index(after: equals)...]
            while rest.first == " " || rest.first == "\t" { rest = rest.dropFirst() }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        value.append(escaped)
                        rest = rest.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw malformed }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingWhitespace
                rest = rest[end...]
            }
            guard values[name] == nil else { throw SIPParseError(.malformedHeaderValue, "Authorization parameter \(name) given twice") }
            values[name] = value
        }
        self.values = values
    }
}

extension Substring {
    var trimmingWhitespace: String {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
