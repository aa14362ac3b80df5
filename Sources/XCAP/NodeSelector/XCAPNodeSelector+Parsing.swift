import PresenceDocuments

extension XCAPNodeSelector {
    /// The namespace the `xml` prefix is always bound to (Namespaces in XML 1.0 §3).
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// Parses a percent-decoded node selector (the part of the URI after `~~/`).
    ///
    /// - Parameters:
    ///   - text: e.g. `resource-lists/list[@name="rcs"]/entry[@uri="sip:a@b"]`.
    ///   - namespaceBindings: the prefixes bound by the query's `xmlns()` parts (RFC 4825 §6.4).
    ///   - defaultNamespace: the application usage's default document namespace, the namespace
    ///     of every unprefixed element name in the selector (RFC 4825 §6.3).
    public static func parse(
        _ text: String, namespaceBindings: [String: String] = [:], defaultNamespace: String
    ) throws(XCAPNodeSelectorError) -> XCAPNodeSelector {
        guard !text.isEmpty else { throw .empty }
        let resolver = NameResolver(bindings: namespaceBindings, defaultNamespace: defaultNamespace)
        let parts = try Self.splitSteps(text)
        var selector = XCAPNodeSelector(steps: [], namespaceBindings: namespaceBindings)
        for (index, part) in parts.enumerated() {
            let isTerminal = part == "namespace::*" || part.hasPrefix("@")
            guard isTerminal else {
                selector.steps.append(try Self.parseStep(part, resolver: resolver))
                continue
            }
            guard index == parts.count - 1 else { throw .terminalNotLast(String(part)) }
            guard !selector.steps.isEmpty else { throw .missingElementStep }
            selector.terminal = part == "namespace::*" ? .namespaces : .attribute(try resolver.attributeName(part.dropFirst()))
            selector.terminalText = String(part)
        }
        return selector
    }

    /// Splits at `/` outside predicates; a `/` inside a quoted attribute value stays in its step.
    static func splitSteps(_ text: String) throws(XCAPNodeSelectorError) -> [Substring] {
        let scalars = text.unicodeScalars
        var parts = [Substring]()
        var start = scalars.startIndex
        var index = scalars.startIndex
        var inPredicate = false
        var quote: Unicode.Scalar?
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if let open = quote {
                if scalar == open { quote = nil }
            } else if inPredicate {
                switch scalar {
                case "\"", "'": quote = scalar
                case "]": inPredicate = false
                case "[": throw .unbalancedBracket(step: String(Substring(scalars[start...])))
                default: break
                }
            } else {
                switch scalar {
                case "[": inPredicate = true
                case "]": throw .unbalancedBracket(step: String(Substring(scalars[start...])))
                case "/":
                    parts.append(Substring(scalars[start..<index]))
                    start = scalars.index(after: index)
                default: break
                }
            }
            index = scalars.index(after: index)
        }
        let last = Substring(scalars[start...])
        if quote != nil { throw .unterminatedQuote(step: String(last)) }
        if inPredicate { throw .unbalancedBracket(step: String(last)) }
        parts.append(last)
        if parts.contains(where: \.isEmpty) { throw .emptyStep }
        return parts
    }

    /// `NameorAny` followed by `[position]`, `[attr-test]` or `[position][attr-test]`.
    static func parseStep(_ text: Substring, resolver: NameResolver) throws(XCAPNodeSelectorError) -> Step {
        let scalars = text.unicodeScalars
        let bracket = scalars.firstIndex(of: "[") ?? scalars.endIndex
        let nameText = Substring(scalars[..<bracket])
        let nameTest: NameTest = nameText == "*" ? .any : .name(try resolver.elementName(nameText))

        var predicates = [Substring]()
        var rest = scalars[bracket...]
        while let open = rest.first {
            guard open == "[" else { throw .unsupportedStep(String(text)) }
            var index = rest.index(after: rest.startIndex)
            var quote: Unicode.Scalar?
            var close: Substring.UnicodeScalarView.Index?
            while index < rest.endIndex {
                let scalar = rest[index]
                if let open = quote {
                    if scalar == open { quote = nil }
                } else if scalar == "\"" || scalar == "'" {
                    quote = scalar
                } else if scalar == "]" {
                    close = index
                    break
                }
                index = rest.index(after: index)
            }
            guard let close else { throw .unbalancedBracket(step: String(text)) }
            predicates.append(Substring(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }

        var step = Step(nameTest: nameTest, text: String(text))
        switch predicates.count {
        case 0:
            break
        case 1 where predicates[0].hasPrefix("@"):
            step.attributeTest = try Self.parseAttributeTest(predicates[0], resolver: resolver)
        case 1:
            step.position = try Self.parsePosition(predicates[0])
        case 2:
            guard !predicates[0].hasPrefix("@"), predicates[1].hasPrefix("@") else {
                throw .invalidPredicateOrder(step: String(text))
            }
            step.position = try Self.parsePosition(predicates[0])
            step.attributeTest = try Self.parseAttributeTest(predicates[1], resolver: resolver)
        default:
            throw .invalidPredicateOrder(step: String(text))
        }
        return step
    }

    /// `position = 1*DIGIT`. Zero parses (the grammar allows it) and never selects anything.
    static func parsePosition(_ text: Substring) throws(XCAPNodeSelectorError) -> Int {
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }) else {
            throw .invalidPredicate(String(text))
        }
        guard let position = Int(text) else { throw .invalidPosition(String(text)) }
        return position
    }

    /// `attr-test = "@" att-name "=" att-value`, the value quoted with `"` or `'`.
    static func parseAttributeTest(_ text: Substring, resolver: NameResolver) throws(XCAPNodeSelectorError) -> AttributeTest {
        guard let equals = text.firstIndex(of: "=") else { throw .invalidPredicate(String(text)) }
        let name = try resolver.attributeName(text[text.index(after: text.startIndex)..<equals])
        let quoted = text[text.index(after: equals)...]
        guard quoted.count >= 2, let quote = quoted.first, quote == "\"" || quote == "'", quoted.last == quote else {
            throw .invalidAttributeValue(String(quoted))
        }
        guard let value = XMLAttributeValueText.decode(quoted.dropFirst().dropLast(), delimiter: quote) else {
            throw .invalidAttributeValue(String(quoted))
        }
        return AttributeTest(name: name, value: value)
    }

    /// Resolves QNames of a selector: element prefixes through the bindings, unprefixed element
    /// names to the default document namespace, unprefixed attribute names to no namespace.
    struct NameResolver {
        var bindings: [String: String]
        var defaultNamespace: String

        func elementName(_ text: Substring) throws(XCAPNodeSelectorError) -> XMLName {
            guard let (prefix, local) = XMLNameSyntax.splitQName(text) else { throw .invalidName(String(text)) }
            guard let prefix else { return XMLName(self.defaultNamespace, local) }
            return XMLName(try self.namespace(for: prefix), local)
        }

        func attributeName(_ text: Substring) throws(XCAPNodeSelectorError) -> XMLName {
            guard let (prefix, local) = XMLNameSyntax.splitQName(text) else { throw .invalidName(String(text)) }
            guard let prefix else {
                // `xmlns` is a namespace declaration, never an attribute of the data model.
                guard local != "xmlns" else { throw .invalidName(String(text)) }
                return XMLName("", local)
            }
            return XMLName(try self.namespace(for: prefix), local)
        }

        private func namespace(for prefix: String) throws(XCAPNodeSelectorError) -> String {
            if prefix == "xmlns" { throw .invalidName("\(prefix):") }
            if prefix == "xml" { return XCAPNodeSelector.xmlNamespace }
            guard let namespace = self.bindings[prefix] else { throw .undefinedPrefix(prefix) }
            return namespace
        }
    }
}
