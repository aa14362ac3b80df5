import PresenceDocuments

/// The `rls-services` application usage (RFC 4826 §4): the resource list services a user
/// defines, each a SIP URI that a SUBSCRIBE to fans out to a list.
///
///     <rls-services xmlns="urn:ietf:params:xml:ns:rls-services"
///                   xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
///       <service uri="sip:+339012341234@Test-rcs.com;pres-list=rcs">
///         <resource-list>http://…/resource-lists/users/…/index/~~/resource-lists/list%5B@name=%22rcs%22%5D</resource-list>
///         <packages><package>presence</package></packages>
///       </service>
///       <service uri="sip:marketing@example.com">
///         <list name="marketing"><rl:entry uri="sip:joe@example.com"/></list>
///       </service>
///     </rls-services>
///
/// A service has exactly one of `<resource-list>` (an HTTP URI of a list) or `<list>` (the list
/// inline: the element is in this namespace, its content in the resource-lists namespace), then
/// an optional `<packages>`.
public struct RLSServicesUsage: XCAPApplicationUsage {
    public static let auid = "rls-services"
    public static let namespace = "urn:ietf:params:xml:ns:rls-services"
    public static let mimeType = "application/rls-services+xml"

    public var auid: String { Self.auid }
    public var mimeType: String { Self.mimeType }
    public var defaultNamespace: String { Self.namespace }
    public var namespaces: [String] { [Self.namespace, ResourceListsUsage.namespace] }

    /// Whether a service URI is already defined by another user. RFC 4826 §4.4.5 makes service
    /// URIs unique across the whole server, which only the store can tell; nil skips the check.
    /// A store that cannot answer synchronously can instead run `serviceURIs(in:)` on the new
    /// document itself and report `uniquenessFailure(serviceURIAt:in:alternatives:)`.
    public var isServiceURITakenElsewhere: (@Sendable (String) -> Bool)?

    public init(isServiceURITakenElsewhere: (@Sendable (String) -> Bool)? = nil) {
        self.isServiceURITakenElsewhere = isServiceURITakenElsewhere
    }

    public func validate(_ document: XMLElement) -> XCAPOperationError? {
        if let error = XCAPValidation.requireRoot(document, Self.name("rls-services")) { return error }
        var seen = Set<String>()
        for (index, service) in XCAPValidation.childElements(of: document) where service.name.namespace == Self.namespace {
            guard service.name.local == "service" else {
                return XCAPValidation.schemaError("<\(service.name.local)> is not allowed in <rls-services>")
            }
            guard let uri = service.attribute("uri") else {
                return XCAPValidation.schemaError("<service> requires a 'uri' attribute")
            }
            if !seen.insert(uri).inserted {
                return XCAPValidation.uniquenessFailure(
                    document: document, path: [index], attribute: "uri", phrase: "service '\(uri)' is defined twice")
            }
            if let isTaken = self.isServiceURITakenElsewhere, isTaken(uri) {
                return Self.uniquenessFailure(serviceURIAt: [index], in: document)
            }
            if let error = Self.validateService(service, at: [index], in: document) { return error }
        }
        return nil
    }

    /// The `uri` of every service in an rls-services document, in document order.
    public static func serviceURIs(in document: XMLElement) -> [String] {
        document.children(named: Self.name("service")).compactMap { $0.attribute("uri") }
    }

    /// The 409 uniqueness-failure for a service URI another user already has (RFC 4825 §11,
    /// `<exists field="rls-services/service[n]/@uri">` with optional suggested alternatives).
    public static func uniquenessFailure(
        serviceURIAt path: [Int], in document: XMLElement, alternatives: [String] = []
    ) -> XCAPOperationError {
        let uri = document.element(at: path)?.attribute("uri") ?? ""
        return XCAPValidation.uniquenessFailure(
            document: document, path: path, attribute: "uri", alternatives: alternatives,
            phrase: "service URI '\(uri)' is already in use")
    }

    private static func validateService(_ service: XMLElement, at path: [Int], in document: XMLElement) -> XCAPOperationError? {
        var sources = 0
        var packages = 0
        for (index, child) in XCAPValidation.childElements(of: service) {
            switch (child.name.namespace, child.name.local) {
            case (Self.namespace, "resource-list"):
                sources += 1
                let target = child.text
                if !XCAPValidation.isHTTPURI(target) {
                    return XCAPValidation.constraintFailure("<resource-list> must hold an HTTP URI, got '\(target)'")
                }
            case (Self.namespace, "list"), (ResourceListsUsage.namespace, "list"):
                sources += 1
                if let error = ResourceListsUsage.validateList(child, at: path + [index], in: document) { return error }
            case (Self.namespace, "packages"):
                packages += 1
                for package in child.childElements where package.name.namespace == Self.namespace {
                    guard package.name.local == "package", !package.text.isEmpty else {
                        return XCAPValidation.schemaError("<packages> holds only non-empty <package> elements")
                    }
                }
            case (Self.namespace, let local):
                return XCAPValidation.schemaError("<\(local)> is not allowed in <service>")
            default:
                continue
            }
        }
        if sources != 1 {
            return XCAPValidation.schemaError("a <service> has exactly one <resource-list> or <list>")
        }
        if packages > 1 { return XCAPValidation.schemaError("a <service> has at most one <packages>") }
        return nil
    }

    static func name(_ local: String) -> XMLName { XMLName(Self.namespace, local) }
}
