/// Why a node selector does not parse (RFC 4825 §6.3 grammar) or cannot be resolved.
public enum XCAPNodeSelectorError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    /// Two slashes in a row, or a leading or trailing slash.
    case emptyStep
    /// A quote opened in a predicate and never closed.
    case unterminatedQuote(step: String)
    /// `[` without `]`, `]` without `[`, or a `[` inside a predicate.
    case unbalancedBracket(step: String)
    /// A step or attribute name that is not `*` or a QName.
    case invalidName(String)
    /// A prefix with no `xmlns()` binding in the URI's query (RFC 4825 §6.4).
    case undefinedPrefix(String)
    /// A predicate that is neither `[position]` nor `[@name="value"]`.
    case invalidPredicate(String)
    /// Predicates other than `[n]`, `[@a="v"]` or `[n][@a="v"]`, in that order.
    case invalidPredicateOrder(step: String)
    /// A position that is not a decimal number that fits an Int.
    case invalidPosition(String)
    /// An attribute-test value that is not a quoted XML `AttValue`.
    case invalidAttributeValue(String)
    /// `@attr` or `namespace::*` anywhere but at the end.
    case terminalNotLast(String)
    /// A selector with only a terminal selector and no element step.
    case missingElementStep
    /// Text after a step's predicates, or any other step this server does not understand
    /// (the grammar's extension-selector).
    case unsupportedStep(String)

    public var description: String { self.reason }

    public var reason: String {
        switch self {
        case .empty: "empty node selector"
        case .emptyStep: "empty step in node selector"
        case .unterminatedQuote(let step): "unterminated quote in step '\(step)'"
        case .unbalancedBracket(let step): "unbalanced '[' or ']' in step '\(step)'"
        case .invalidName(let name): "'\(name)' is not a valid element or attribute name"
        case .undefinedPrefix(let prefix): "namespace prefix '\(prefix)' is not bound by an xmlns() part of the query"
        case .invalidPredicate(let predicate): "predicate '[\(predicate)]' is neither a position nor an attribute test"
        case .invalidPredicateOrder(let step): "predicates of step '\(step)' must be [position], [@attr=\"value\"] or both in that order"
        case .invalidPosition(let text): "'\(text)' is not a valid position"
        case .invalidAttributeValue(let text): "\(text) is not a quoted attribute value"
        case .terminalNotLast(let step): "'\(step)' may only be the last step"
        case .missingElementStep: "node selector has no element step"
        case .unsupportedStep(let step): "unsupported node selector step '\(step)'"
        }
    }
}
