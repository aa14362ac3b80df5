/// Writes an `XMLElement` tree deterministically: the same tree always gives the same bytes
/// (stable ETags, comparable test output). Prefixes and declarations are kept as parsed; a name
/// whose namespace is not in scope gets a declaration where it is used.
///
/// Every PUBLISH is serialized once for its watchers, so this writes UTF-8 bytes directly and
/// keeps the namespaces in scope on one stack rather than a dictionary per element.
public enum XMLSerializer {
    public static func serialize(_ element: XMLElement, declaration: Bool = true) -> String {
        String(decoding: Self.serializedBytes(element, declaration: declaration), as: UTF8.self)
    }

    public static func serializedBytes(_ element: XMLElement, declaration: Bool = true) -> [UInt8] {
        var writer = Writer()
        if declaration { writer.put("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") }
        writer.write(element)
        return writer.output
    }

    /// `text` with the characters that cannot stand for themselves escaped (XML 1.0 §2.4, §3.3.3;
    /// a CR as a character reference, since parsers turn a literal one into LF).
    public static func escape(_ text: String, quote: Bool) -> String {
        var writer = Writer()
        writer.putEscaped(text, quote: quote)
        return String(decoding: writer.output, as: UTF8.self)
    }

    private struct Writer {
        var output: [UInt8] = []
        /// Prefix bindings in scope, innermost last ("" is the default namespace).
        var scope: [(prefix: String, uri: String)] = [("xml", "http://www.w3.org/XML/1998/namespace")]
        var generated = 0

        init() { self.output.reserveCapacity(1024) }

        mutating func put(_ text: String) {
            var text = text
            text.withUTF8 { self.output.append(contentsOf: $0) }
        }

        mutating func putEscaped(_ text: String, quote: Bool) {
            var text = text
            text.withUTF8 { bytes in
                // The escaped characters are ASCII, and ASCII bytes never occur inside a
                // multi-byte UTF-8 sequence: a byte scan finds exactly them.
                var start = 0
                for index in 0..<bytes.count {
                    let replacement: StaticString
                    switch bytes[index] {
                    case UInt8(ascii: "&"): replacement = "&amp;"
                    case UInt8(ascii: "<"): replacement = "&lt;"
                    case UInt8(ascii: ">"): replacement = "&gt;"
                    case UInt8(ascii: "\"") where quote: replacement = "&quot;"
                    case UInt8(ascii: "\r"): replacement = "&#13;"
                    default: continue
                    }
                    self.output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    self.output.append(contentsOf: UnsafeBufferPointer(start: replacement.utf8Start, count: replacement.utf8CodeUnitCount))
                    start = index + 1
                }
                self.output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
        }

        /// The namespace `prefix` is bound to, by the innermost declaration of it.
        func uri(of prefix: String) -> String? {
            self.scope.last { $0.prefix == prefix }?.uri
        }

        /// The innermost prefix still bound to `uri` (not the default namespace's).
        func prefix(boundTo uri: String, allowingXML: Bool) -> String? {
            for binding in self.scope.reversed() where binding.uri == uri && !binding.prefix.isEmpty {
                if !allowingXML && binding.prefix == "xml" { continue }
                if self.uri(of: binding.prefix) == uri { return binding.prefix }
            }
            return nil
        }

        mutating func write(_ element: XMLElement) {
            let outerScope = self.scope.count
            defer { self.scope.removeSubrange(outerScope...) }
            var declarations = element.namespaceDeclarations
            for declaration in declarations { self.scope.append((declaration.prefix ?? "", declaration.uri)) }
            // The element's own name.
            var prefix = element.prefix
            if let current = prefix, self.uri(of: current) != element.name.namespace { prefix = nil }
            if prefix == nil, (self.uri(of: "") ?? "") != element.name.namespace {
                if let existing = self.prefix(boundTo: element.name.namespace, allowingXML: false) {
                    prefix = existing
                } else {
                    declarations.append(XMLNamespaceDeclaration(prefix: nil, uri: element.name.namespace))
                    self.scope.append(("", element.name.namespace))
                }
            }
            // Qualified attributes need a prefix bound to their namespace.
            var attributePrefixes = [String?]()
            attributePrefixes.reserveCapacity(element.attributes.count)
            for attribute in element.attributes {
                guard !attribute.name.namespace.isEmpty else {
                    attributePrefixes.append(nil)
                    continue
                }
                var attributePrefix = self.prefix(boundTo: attribute.name.namespace, allowingXML: true)
                if attributePrefix == nil {
                    self.generated += 1
                    attributePrefix = "ns\(self.generated)"
                    declarations.append(XMLNamespaceDeclaration(prefix: attributePrefix, uri: attribute.name.namespace))
                    self.scope.append((attributePrefix ?? "", attribute.name.namespace))
                }
                attributePrefixes.append(attributePrefix)
            }
            self.output.append(UInt8(ascii: "<"))
            self.putName(prefix, element.name.local)
            for declaration in declarations {
                if let declared = declaration.prefix {
                    self.put(" xmlns:")
                    self.put(declared)
                    self.put("=\"")
                } else {
                    self.put(" xmlns=\"")
                }
                self.putEscaped(declaration.uri, quote: true)
                self.output.append(UInt8(ascii: "\""))
            }
            for (attribute, attributePrefix) in zip(element.attributes, attributePrefixes) {
                self.output.append(UInt8(ascii: " "))
                self.putName(attributePrefix, attribute.name.local)
                self.put("=\"")
                self.putEscaped(attribute.value, quote: true)
                self.output.append(UInt8(ascii: "\""))
            }
            if element.children.isEmpty {
                self.put("/>")
                return
            }
            self.output.append(UInt8(ascii: ">"))
            for child in element.children {
                switch child {
                case .text(let text): self.putEscaped(text, quote: false)
                case .element(let child): self.write(child)
                }
            }
            self.put("</")
            self.putName(prefix, element.name.local)
            self.output.append(UInt8(ascii: ">"))
        }

        mutating func putName(_ prefix: String?, _ local: String) {
            if let prefix {
                self.put(prefix)
                self.output.append(UInt8(ascii: ":"))
            }
            self.put(local)
        }
    }
}
