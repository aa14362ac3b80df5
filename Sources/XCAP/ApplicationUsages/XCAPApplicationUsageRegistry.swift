import PresenceDocuments

/// The application usages a server knows, by AUID (an unknown AUID is a 404, RFC 4825 §6.2).
public struct XCAPApplicationUsageRegistry: Sendable {
    private var usagesByAUID: [String: any XCAPApplicationUsage] = [:]
    /// The AUIDs in registration order.
    public private(set) var auids: [String] = []

    public init(_ usages: [any XCAPApplicationUsage] = []) {
        for usage in usages { self.register(usage) }
    }

    /// Adds `usage`, replacing one registered with the same AUID.
    public mutating func register(_ usage: any XCAPApplicationUsage) {
        if self.usagesByAUID.updateValue(usage, forKey: usage.auid) == nil { self.auids.append(usage.auid) }
    }

    public subscript(auid: String) -> (any XCAPApplicationUsage)? { self.usagesByAUID[auid] }

    /// Every registered usage, in registration order.
    public var usages: [any XCAPApplicationUsage] { self.auids.compactMap { self.usagesByAUID[$0] } }

    /// The usages Herald serves: xcap-caps, resource-lists, rls-services, pres-rules (IETF and
    /// OMA), pidf-manipulation, the OMA XCAP directory and OMA presence content.
    ///
    /// - Parameter isServiceURITakenElsewhere: tells whether an RLS service URI is already used
    ///   in another user's rls-services document (RFC 4826 §4.4.5 makes service URIs unique
    ///   across the server; see `RLSServicesUsage`).
    public static func standard(
        isServiceURITakenElsewhere: (@Sendable (String) -> Bool)? = nil
    ) -> XCAPApplicationUsageRegistry {
        XCAPApplicationUsageRegistry([
            XCAPCapabilitiesUsage(),
            ResourceListsUsage(),
            RLSServicesUsage(isServiceURITakenElsewhere: isServiceURITakenElsewhere),
            PresRulesUsage.ietf,
            PresRulesUsage.oma,
            PIDFManipulationUsage(),
            XCAPDirectoryUsage(),
            PresContentUsage(),
        ])
    }

    /// The xcap-caps document (RFC 4825 §12) listing the registered AUIDs and their namespaces.
    public func capabilitiesDocument(extensions: [String] = []) -> XMLElement {
        var namespaces = [String]()
        for usage in self.usages {
            for namespace in usage.namespaces where !namespaces.contains(namespace) { namespaces.append(namespace) }
        }
        return XCAPCapabilitiesUsage.document(auids: self.auids, extensions: extensions, namespaces: namespaces)
    }
}
