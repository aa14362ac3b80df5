import PresenceDocuments

/// A parsed XCAP node selector (RFC 4825 §6.3): element steps from the document root, and an
/// optional terminal selector naming an attribute or the namespace bindings of the element.
///
///     node-selector      = element-selector ["/" terminal-selector]
///     element-selector   = step *( "/" step )
///     step               = by-name / by-pos / by-attr / by-pos-attr
///     by-pos-attr        = NameorAny "[" position "]" "[" attr-test "]"
///     terminal-selector  = attribute-selector / namespace-selector
///
/// Names are resolved when parsing: a prefixed name through the URI's `xmlns()` bindings, an
/// unprefixed element name to the application usage's default document namespace (RFC 4825
/// §6.3, §5.2), an unprefixed attribute name to no namespace (as in XML).
public struct XCAPNodeSelector: Sendable, Hashable, CustomStringConvertible {
    /// The element test of a step: a qualified name or `*` (any element).
    public enum NameTest: Sendable, Hashable {
        case any
        case name(XMLName)

        public func matches(_ element: XMLElement) -> Bool {
            switch self {
            case .any: true
            case .name(let name): element.name == name
            }
        }
    }

    /// `[@name="value"]`: the element has the attribute with exactly this (decoded) value.
    public struct AttributeTest: Sendable, Hashable {
        public var name: XMLName
        public var value: String

        public init(name: XMLName, value: String) {
            self.name = name
            self.value = value
        }

        public func matches(_ element: XMLElement) -> Bool {
            element.attributes.contains { $0.name == self.name && $0.value == self.value }
        }
    }

    /// One location step.
    public struct Step: Sendable, Hashable {
        public var nameTest: NameTest
        /// `[n]`: the n-th child element (1-based) among those passing the name test.
        public var position: Int?
        public var attributeTest: AttributeTest?
        /// The step as written in the URI (decoded), kept for building URIs of ancestors.
        public var text: String

        public init(nameTest: NameTest, position: Int? = nil, attributeTest: AttributeTest? = nil, text: String) {
            self.nameTest = nameTest
            self.position = position
            self.attributeTest = attributeTest
            self.text = text
        }
    }

    /// What the selector ends in after its element steps.
    public enum Terminal: Sendable, Hashable {
        /// `@name`: an attribute of the selected element.
        case attribute(XMLName)
        /// `namespace::*`: the namespace bindings in scope at the selected element.
        case namespaces
    }

    /// The element steps; never empty. The first step is matched against the document root.
    public var steps: [Step]
    public var terminal: Terminal?
    /// The terminal selector as written (e.g. `@uri`), nil without one.
    public var terminalText: String?
    /// The `xmlns()` bindings the selector was parsed with, for URIs built from it.
    public var namespaceBindings: [String: String]

    public init(steps: [Step], terminal: Terminal? = nil, terminalText: String? = nil, namespaceBindings: [String: String] = [:]) {
        self.steps = steps
        self.terminal = terminal
        self.terminalText = terminalText
        self.namespaceBindings = namespaceBindings
    }

    /// The selector as written (decoded): steps and terminal joined with `/`.
    public var description: String {
        (self.steps.map(\.text) + [self.terminalText].compactMap { $0 }).joined(separator: "/")
    }

    /// The same element steps with no terminal selector.
    public var elementSelector: XCAPNodeSelector {
        XCAPNodeSelector(steps: self.steps, namespaceBindings: self.namespaceBindings)
    }

    /// The first `count` element steps, no terminal: the selector of an ancestor.
    public func leadingSteps(_ count: Int) -> XCAPNodeSelector {
        XCAPNodeSelector(steps: Array(self.steps.prefix(count)), namespaceBindings: self.namespaceBindings)
    }
}
