import PresenceDocuments

/// The `pidf-manipulation` application usage (RFC 4827): presence a user sets through XCAP
/// rather than PUBLISH (RCS clients keep their status icon there). The document is a PIDF
/// `<presence>` (RFC 3863), extended with the data model's persons and devices (RFC 4479).
public struct PIDFManipulationUsage: XCAPApplicationUsage {
    public static let auid = "pidf-manipulation"
    public static let mimeType = "application/pidf+xml"

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { PresenceNamespace.pidf }

    public init() {}

    /// The root is `<presence>`; every tuple, person and device has an `id` (RFC 3863, RFC 4479),
    /// and the ids are unique within the document.
    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        if let error = XCAPValidation.requireRoot(document, PIDFName.presence) { return error }
        let identified: Set<XMLName> = [
            PIDFName.tuple, PIDFName.person,
            PIDFName.device,
        ]
        var seen = Set<String>()
        for (index, child) in XCAPValidation.childElements(of: document) where identified.contains(child.name) {
            guard let id = child.attribute("id") else {
                return XCAPValidation.schemaError("<\(child.name.local)> requires an 'id' attribute")
            }
            if !seen.insert(id).inserted {
                return XCAPValidation.uniquenessFailure(
                    document: document, path: [index], attribute: "id", phrase: "id '\(id)' is used twice")
            }
        }
        return nil
    }
}
