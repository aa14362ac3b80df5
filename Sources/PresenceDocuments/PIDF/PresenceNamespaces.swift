/// Namespace URIs of the presence documents (RFC 3863, 4479, 4480, 4482, 5196, OMA).
public enum PresenceNamespace {
    public static let pidf = "urn:ietf:params:xml:ns:pidf"
    public static let dataModel = "urn:ietf:params:xml:ns:pidf:data-model"
    public static let rpid = "urn:ietf:params:xml:ns:pidf:rpid"
    public static let cipid = "urn:ietf:params:xml:ns:pidf:cipid"
    public static let caps = "urn:ietf:params:xml:ns:pidf:caps"
    public static let omaPresence = "urn:oma:xml:prs:pidf:oma-pres"
    public static let watcherInfo = "urn:ietf:params:xml:ns:watcherinfo"
    public static let rlmi = "urn:ietf:params:xml:ns:rlmi"
}

/// Element names of PIDF (RFC 3863) and its data model (RFC 4479), shared by parsing,
/// composition and filtering.
public enum PIDFName {
    public static let presence = XMLName(PresenceNamespace.pidf, "presence")
    public static let tuple = XMLName(PresenceNamespace.pidf, "tuple")
    public static let status = XMLName(PresenceNamespace.pidf, "status")
    public static let basic = XMLName(PresenceNamespace.pidf, "basic")
    public static let contact = XMLName(PresenceNamespace.pidf, "contact")
    public static let note = XMLName(PresenceNamespace.pidf, "note")
    public static let person = XMLName(PresenceNamespace.dataModel, "person")
    public static let device = XMLName(PresenceNamespace.dataModel, "device")
    public static let deviceID = XMLName(PresenceNamespace.dataModel, "deviceID")
}

public struct PresenceDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}

extension PresenceDocumentError {
    /// Parses a document taken off the wire (no DTD, within `limits`), reporting XML errors as
    /// document errors.
    static func parse(_ bytes: [UInt8], limits: XMLLimits) throws(PresenceDocumentError) -> XMLElement {
        do {
            return try XMLDocumentParser.parse(bytes, limits: limits)
        } catch {
            throw PresenceDocumentError(error.reason)
        }
    }
}
