/// A namespace-qualified name: `{namespace}local`. Unqualified names have an empty namespace.
public struct XMLName: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var local: String

    public init(_ namespace: String, _ local: String) {
        self.namespace = namespace
        self.local = local
    }

    public var description: String { self.namespace.isEmpty ? self.local : "{\(self.namespace)}\(self.local)" }
}

public struct XMLAttribute: Hashable, Sendable {
    public var name: XMLName
    public var value: String

    public init(_ name: XMLName, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A namespace declaration as written on an element (`xmlns` or `xmlns:prefix`).
public struct XMLNamespaceDeclaration: Hashable, Sendable {
    /// nil for the default namespace.
    public var prefix: String?
    public var uri: String

    public init(prefix: String?, uri: String) {
        self.prefix = prefix
        self.uri = uri
    }
}

public enum XMLNode: Hashable, Sendable {
    case element(XMLElement)
    case text(String)
}

/// An element of Herald's own small XML tree (see DESIGN.md: FoundationXML's tree is not safe
/// for input from the wire). Namespace-aware; keeps the prefixes and declarations it was parsed
/// with so that serializing gives the author's spelling back.
public struct XMLElement: Hashable, Sendable {
    public var name: XMLName
    /// The prefix the element was written with (nil: default namespace or none).
    public var prefix: String?
    public var attributes: [XMLAttribute]
    public var namespaceDeclarations: [XMLNamespaceDeclaration]
    public var children: [XMLNode]

    public init(
        _ name: XMLName, prefix: String? = nil, attributes: [XMLAttribute] = [],
        namespaceDeclarations: [XMLNamespaceDeclaration] = [], children: [XMLNode] = []
    ) {
        self.name = name
        self.prefix = prefix
        self.attributes = attributes
        self.namespaceDeclarations = namespaceDeclarations
        self.children = children
    }

    public var childElements: [XMLElement] {
        self.children.compactMap { if case .element(let element) = $0 { return element } else { return nil } }
    }

    public func children(named name: XMLName) -> [XMLElement] { self.childElements.filter { $0.name == name } }
    public func firstChild(named name: XMLName) -> XMLElement? { self.childElements.first { $0.name == name } }

    /// The value of an unqualified attribute (or a qualified one when `namespace` is given).
    public func attribute(_ local: String, namespace: String = "") -> String? {
        self.attributes.first { $0.name.local == local && $0.name.namespace == namespace }?.value
    }

    public mutating func setAttribute(_ local: String, _ value: String?, namespace: String = "") {
        self.attributes.removeAll { $0.name.local == local && $0.name.namespace == namespace }
        if let value { self.attributes.append(XMLAttribute(XMLName(namespace, local), value)) }
    }

    /// The concatenated text of the element's direct text children, trimmed.
    public var text: String {
        self.children.compactMap { if case .text(let text) = $0 { return text } else { return nil } }
            .joined().trimmedXMLWhitespace
    }

    /// Depth-first search for the first descendant (or self) named `name`.
    public func firstDescendant(named name: XMLName) -> XMLElement? {
        if self.name == name { return self }
        for child in self.childElements {
            if let found = child.firstDescendant(named: name) { return found }
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing XML whitespace (S: space, tab, CR, LF).
    var trimmedXMLWhitespace: String {
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, isSpace(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, isSpace(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
