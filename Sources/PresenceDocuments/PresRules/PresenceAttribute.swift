/// The presence attributes RFC 5025 §3.3.2 gives a boolean permission each
/// (`provide-activities`, `provide-class`, …). All are RPID elements (RFC 4480) except
/// `deviceID`, the data model element (RFC 4479) that ties a service to a device.
/// `user-input` has a graded permission of its own (`UserInputPermission`); attributes not
/// listed here are "unknown attributes" (`provide-unknown-attribute`, RFC 5025 §3.3.2).
public enum PresenceAttribute: String, Sendable, Hashable, CaseIterable {
    case activities
    case `class`
    case deviceID
    case mood
    case placeIs = "place-is"
    case placeType = "place-type"
    case privacy
    case relationship
    case statusIcon = "status-icon"
    case sphere
    case timeOffset = "time-offset"

    /// The transformation element that grants it, e.g. `provide-place-is`.
    public var permissionName: XMLName { XMLName(PresRulesNamespace.presRules, "provide-" + self.rawValue) }

    /// The presence document element it controls.
    public var elementName: XMLName {
        switch self {
        case .deviceID: XMLName(PresenceNamespace.dataModel, "deviceID")
        default: XMLName(PresenceNamespace.rpid, self.rawValue)
        }
    }

    /// The attribute a presence element is, if RFC 5025 names it.
    public init?(element name: XMLName) {
        guard let attribute = Self.byElementName[name] else { return nil }
        self = attribute
    }

    private static let byElementName: [XMLName: PresenceAttribute] = Dictionary(
        uniqueKeysWithValues: Self.allCases.map { ($0.elementName, $0) })
}

/// `provide-user-input` (RFC 5025 §3.3.2): how much of RPID `user-input` (RFC 4480)
/// a watcher sees. Ordered, so several rules combine to the most permissive (RFC 4745 §10.2).
public enum UserInputPermission: Int, Sendable, Hashable, CaseIterable, Comparable {
    /// `false`: the element is removed.
    case withheld = 0
    /// `bare`: only active/idle, without `idle-threshold` and `last-input`.
    case bare = 1
    /// `thresholds`: with `idle-threshold` but without `last-input`.
    case thresholds = 2
    /// `full`: the element as published.
    case full = 3

    public init?(token: String) {
        switch token.trimmedXMLWhitespace {
        case "false": self = .withheld
        case "bare": self = .bare
        case "thresholds": self = .thresholds
        case "full": self = .full
        default: return nil
        }
    }

    public static func < (lhs: UserInputPermission, rhs: UserInputPermission) -> Bool { lhs.rawValue < rhs.rawValue }
}
