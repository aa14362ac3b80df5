/// The `sub-handling` action (RFC 5025 §3.2.1): what the server does with a subscription.
/// The raw values are the RFC's numeric values; when several matching rules give one, the
/// combined action is the largest (RFC 4745 §10.2), so a watcher allowed by any rule is allowed.
public enum SubHandling: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Reject the subscription: it goes to the terminated state.
    case block = 0
    /// Hold the subscription pending while the presentity decides (watcher info, RFC 3857).
    case confirm = 10
    /// Accept the subscription but send a document saying the presentity is unavailable
    /// (`PresenceFilter.neutralDocument(entity:)`), so the watcher cannot tell it was blocked.
    case politeBlock = 20
    /// Accept the subscription and send presence filtered by the combined transformations.
    case allow = 30

    /// The token as written in a document: `block`, `confirm`, `polite-block`, `allow`.
    public var token: String {
        switch self {
        case .block: "block"
        case .confirm: "confirm"
        case .politeBlock: "polite-block"
        case .allow: "allow"
        }
    }

    /// Parses a token; surrounding XML whitespace is ignored (the schema type is xs:token).
    /// Unknown tokens give nil: an action the server does not understand grants nothing.
    public init?(token: String) {
        switch token.trimmedXMLWhitespace {
        case "block": self = .block
        case "confirm": self = .confirm
        case "polite-block": self = .politeBlock
        case "allow": self = .allow
        default: return nil
        }
    }

    public static func < (lhs: SubHandling, rhs: SubHandling) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { self.token }
}
