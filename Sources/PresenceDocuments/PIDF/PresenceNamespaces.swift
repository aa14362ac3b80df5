/// Namespace URIs of the presence documents (RFC 3863, 4479, 4480, 4482, 5196, OMA).
public enum PresenceNamespace {
    public static let pidf = "urn:ietf:params:xml:ns:pidf"
    public static let dataModel = "urn:ietf:params:xml:ns:pidf:data-model"
    public static let rpid = "urn:ietf:params:xml:ns:pidf:rpid"
    public static let cipid = "urn:ietf:params:xml:ns:pidf:cipid"
    public static let caps = "urn:ietf:params:xml:ns:pidf:caps"
    public static let omaPresence = "urn:oma:xml:prs:pidf:oma-pres"
    public static let watcherInfo = "urn:ietf:params:xml:ns:watcherinfo"
}

public struct PresenceDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}
