/// The MIME types of XCAP resources (RFC 4825 §15.2) and a Content-Type comparison.
public enum XCAPMediaType {
    /// An element resource: an XML fragment holding one element (RFC 4825 §15.2.1).
    public static let element = "application/xcap-el+xml"
    /// An attribute resource: an attribute value without quotes (RFC 4825 §15.2.2).
    public static let attribute = "application/xcap-att+xml"
    /// The namespace bindings of an element (RFC 4825 §15.2.3).
    public static let namespaces = "application/xcap-ns+xml"
    /// An error body (RFC 4825 §15.2.4).
    public static let error = XCAPErrorDocument.contentType

    /// Whether a Content-Type header value names `expected`: type and subtype compared without
    /// regard to case, parameters (`;charset=…`) ignored.
    public static func matches(_ contentType: String, _ expected: String) -> Bool {
        Self.essence(of: contentType) == expected.lowercased()
    }

    /// `type/subtype` of a Content-Type value, lowercased, without parameters or white space.
    public static func essence(of contentType: String) -> String {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingXMLSpace().lowercased()
    }
}
