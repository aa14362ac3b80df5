/// Writes an `XMLElement` tree deterministically: the same tree always gives the same bytes
/// (stable ETags, comparable test output). Prefixes and declarations are kept as parsed; a name
/// whose namespace is not in scope gets a declaration where it is used.
public enum XMLSerializer {
    public static func serialize(_ element: XMLElement, declaration: Bool = true) -> String {
        var output = declaration ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        var generated = 0
        Self.write(element, scope: ["xml": "http://www.w3.org/XML/1998/namespace"], into: &output, generated: &generated)
        return output
    }

    private static func write(_ element: XMLElement, scope parentScope: [String: String], into output: inout String, generated: inout Int) {
        var scope = parentScope
        var declarations = element.namespaceDeclarations
        for declaration in declarations { scope[declaration.prefix ?? ""] = declaration.uri }
        // The element's own name.
        var prefix = element.prefix
        if let current = prefix, scope[current] != element.name.namespace { prefix = nil }
        if prefix == nil, (scope[""] ?? "") != element.name.namespace {
            if let existing = scope.first(where: { $0.value == element.name.namespace && !$0.key.isEmpty && $0.key != "xml" })?.key {
                prefix = existing
            } else if element.name.namespace.isEmpty {
                declarations.append(XMLNamespaceDeclaration(prefix: nil, uri: ""))
                scope[""] = ""
            } else {
                declarations.append(XMLNamespaceDeclaration(prefix: nil, uri: element.name.namespace))
                scope[""] = element.name.namespace
            }
        }
        // Qualified attributes need a prefix bound to their namespace.
        var attributeTexts = [String]()
        for attribute in element.attributes {
            var name = attribute.name.local
            if !attribute.name.namespace.isEmpty {
                var attributePrefix = scope.first(where: { $0.value == attribute.name.namespace && !$0.key.isEmpty })?.key
                if attributePrefix == nil {
                    generated += 1
                    attributePrefix = "ns\(generated)"
                    declarations.append(XMLNamespaceDeclaration(prefix: attributePrefix, uri: attribute.name.namespace))
                    scope[attributePrefix ?? ""] = attribute.name.namespace
                }
                name = "\(attributePrefix ?? ""):\(name)"
            }
            attributeTexts.append("\(name)=\"\(Self.escape(attribute.value, quote: true))\"")
        }
        let qualified = prefix.map { "\($0):\(element.name.local)" } ?? element.name.local
        output += "<" + qualified
        for declaration in declarations {
            output += declaration.prefix.map { " xmlns:\($0)=\"" } ?? " xmlns=\""
            output += Self.escape(declaration.uri, quote: true) + "\""
        }
        for text in attributeTexts { output += " " + text }
        if element.children.isEmpty {
            output += "/>"
            return
        }
        output += ">"
        for child in element.children {
            switch child {
            case .text(let text): output += Self.escape(text, quote: false)
            case .element(let child): Self.write(child, scope: scope, into: &output, generated: &generated)
            }
        }
        output += "</" + qualified + ">"
    }

    public static func escape(_ text: String, quote: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where quote: result += "&quot;"
            case "\r": result += "&#13;"
            default: result.append(character)
            }
        }
        return result
    }
}
