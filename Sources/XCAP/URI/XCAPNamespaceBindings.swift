/// The query component of an XCAP URI: prefix bindings for the node selector (RFC 4825 §6.4).
///
///     query        = 1*xmlns-part
///     xmlns-part   = "xmlns(" NCName "=" namespace-uri ")"
///
/// The parts follow the XPointer framework's `xmlns()` scheme, so inside the parentheses `^(`,
/// `^)` and `^^` stand for `(`, `)` and `^`. Whitespace between parts is allowed.
public enum XCAPNamespaceBindings {
    /// Parses a percent-decoded query into prefix → namespace URI bindings.
    public static func parse(_ query: String) throws(XCAPURIError) -> [String: String] {
        var bindings = [String: String]()
        var rest = Substring(query)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
            if rest.isEmpty { break }
            guard rest.hasPrefix("xmlns(") else {
                throw .invalidNamespaceBinding("expected 'xmlns(' at '\(rest)'")
            }
            rest = rest.dropFirst("xmlns(".count)
            var body = ""
            var closed = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if character == "^" {
                    guard let escaped = rest.first, escaped == "(" || escaped == ")" || escaped == "^" else {
                        throw .invalidNamespaceBinding("'^' must escape '(', ')' or '^'")
                    }
                    body.append(escaped)
                    rest = rest.dropFirst()
                } else if character == ")" {
                    closed = true
                    break
                } else if character == "(" {
                    throw .invalidNamespaceBinding("unescaped '(' inside xmlns()")
                } else {
                    body.append(character)
                }
            }
            guard closed else { throw .invalidNamespaceBinding("unterminated xmlns(") }
            guard let equals = body.firstIndex(of: "=") else {
                throw .invalidNamespaceBinding("xmlns(\(body)) has no '='")
            }
            let prefix = body[..<equals].trimmingXMLSpace()
            let namespace = body[body.index(after: equals)...].trimmingXMLSpace()
            guard XMLNameSyntax.isNCName(prefix) else {
                throw .invalidNamespaceBinding("'\(prefix)' is not a valid namespace prefix")
            }
            guard prefix.lowercased() != "xmlns" else {
                throw .invalidNamespaceBinding("the 'xmlns' prefix cannot be bound")
            }
            guard !namespace.isEmpty else {
                throw .invalidNamespaceBinding("prefix '\(prefix)' is bound to an empty namespace")
            }
            if let existing = bindings[prefix], existing != namespace {
                throw .invalidNamespaceBinding("prefix '\(prefix)' is bound twice")
            }
            bindings[prefix] = namespace
        }
        return bindings
    }

    /// The query text for `bindings` (sorted by prefix), escaped per XPointer; nil when empty.
    /// The result is not percent-encoded.
    public static func query(for bindings: [String: String]) -> String? {
        guard !bindings.isEmpty else { return nil }
        return bindings.sorted { $0.key < $1.key }.map { prefix, namespace in
            var escaped = ""
            for character in namespace {
                if character == "(" || character == ")" || character == "^" { escaped.append("^") }
                escaped.append(character)
            }
            return "xmlns(\(prefix)=\(escaped))"
        }.joined()
    }
}
