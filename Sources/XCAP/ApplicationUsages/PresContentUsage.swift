import PresenceDocuments

/// OMA presence content (`org.openmobilealliance.pres-content`, OMA Presence SIMPLE Content
/// XDM): content a presence document points to, such as the status icon RCS clients store at
/// `oma_status-icon/rcs_status_icon`. The document wraps the bytes in base64:
///
///     <content xmlns="urn:oma:xml:prs:pres-content">
///       <mime-type>image/jpeg</mime-type>
///       <encoding>base64</encoding>
///       <description>optional</description>
///       <data>/9j/4AAQSkZJRg…</data>
///     </content>
///
/// Some clients PUT the image itself instead, with an `image/*` Content-Type; those bodies are
/// taken as binary.
public struct PresContentUsage: XCAPApplicationUsage {
    public static let auid = "org.openmobilealliance.pres-content"
    public static let namespace = "urn:oma:xml:prs:pres-content"
    public static let mimeType = "application/vnd.oma.pres-content+xml"

    /// The largest content accepted, in decoded bytes.
    public var maxContentBytes: Int

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }

    public init(maxContentBytes: Int = 300 * 1024) {
        self.maxContentBytes = maxContentBytes
    }

    public func contentKind(forContentType contentType: String) -> XCAPContentKind? {
        if XCAPMediaType.matches(contentType, self.mimeType) { return .xml }
        return Self.isImage(contentType) ? .binary : nil
    }

    /// `<content>` with one `<mime-type>` (`type/subtype`), `<encoding>` `base64`, at most one
    /// `<description>`, and one `<data>` that decodes as base64 within `maxContentBytes`.
    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        if let error = XCAPValidation.requireRoot(document, Self.name("content")) { return error }
        var fields = [String: String]()
        for child in document.childElements where child.name.namespace == Self.namespace {
            guard ["mime-type", "encoding", "description", "data"].contains(child.name.local) else {
                return XCAPValidation.schemaError("<\(child.name.local)> is not allowed in <content>")
            }
            guard fields.updateValue(child.text, forKey: child.name.local) == nil else {
                return XCAPValidation.schemaError("<content> has at most one <\(child.name.local)>")
            }
        }
        guard let mimeType = fields["mime-type"] else { return XCAPValidation.schemaError("<content> requires a <mime-type>") }
        guard Self.isMediaType(mimeType) else {
            return XCAPValidation.constraintFailure("'\(mimeType)' is not a MIME type")
        }
        guard let encoding = fields["encoding"], encoding.lowercased() == "base64" else {
            return XCAPValidation.constraintFailure("the only supported <encoding> is base64")
        }
        guard let data = fields["data"] else { return XCAPValidation.schemaError("<content> requires a <data>") }
        guard let bytes = Base64.decode(data) else { return XCAPValidation.constraintFailure("<data> is not valid base64") }
        guard bytes.count <= self.maxContentBytes else {
            return XCAPValidation.constraintFailure("content larger than \(self.maxContentBytes) bytes")
        }
        return nil
    }

    /// A raw image body: an `image/*` Content-Type, not empty, within `maxContentBytes`.
    public func validateBinary(_ body: [UInt8], contentType: String) -> XCAPOperationError? {
        guard Self.isImage(contentType) else {
            return .unsupportedMediaType(expected: "\(self.mimeType) or image/*", reason: "pres-content takes \(self.mimeType) or an image")
        }
        if body.isEmpty { return XCAPValidation.constraintFailure("empty image") }
        if body.count > self.maxContentBytes {
            return .payloadTooLarge(reason: "image larger than \(self.maxContentBytes) bytes")
        }
        return nil
    }

    /// The MIME type and decoded bytes of a valid content document, e.g. to serve the icon.
    public static func content(of document: XMLElement) -> (mimeType: String, data: [UInt8])? {
        guard document.name == Self.name("content"),
            let mimeType = document.firstChild(named: Self.name("mime-type"))?.text,
            let data = document.firstChild(named: Self.name("data")).flatMap({ Base64.decode($0.text) })
        else { return nil }
        return (mimeType, data)
    }

    /// Raster images only: an SVG is a script-capable document, and the icon is served from the
    /// same origin as the user's other documents and her forwarding settings.
    static let imageTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"]

    static func isImage(_ contentType: String) -> Bool {
        Self.imageTypes.contains(XCAPMediaType.essence(of: contentType).lowercased())
    }

    private static func isMediaType(_ text: String) -> Bool {
        let parts = XCAPMediaType.essence(of: text).split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && !text.contains(" ")
    }

    static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
