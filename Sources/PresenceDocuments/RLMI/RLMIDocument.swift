/// Resource list meta-information (RFC 4662 §5): the root part of a resource list NOTIFY's
/// `multipart/related` body, naming the list's resources and the state of each one's
/// back-end subscription ("instance"); the state documents of active instances follow as the
/// other parts, each referred to by its Content-ID.
public enum RLMIDocument {
    public static let contentType = "application/rlmi+xml"

    /// RFC 4662 §5.2: an instance is active, pending, or terminated (with the reason of the
    /// back-end subscription's Subscription-State).
    public enum InstanceState: Sendable, Equatable {
        case active
        case pending
        case terminated(reason: String?)
    }

    public struct Instance: Sendable, Equatable {
        /// Unique within the resource for the life of the list subscription.
        public var id: String
        public var state: InstanceState
        /// The Content-ID (without angle brackets) of the part carrying this instance's state.
        public var contentID: String?

        public init(id: String, state: InstanceState, contentID: String? = nil) {
            self.id = id
            self.state = state
            self.contentID = contentID
        }
    }

    public struct Resource: Sendable, Equatable {
        public var uri: String
        public var name: String?
        public var instances: [Instance]

        public init(uri: String, name: String? = nil, instances: [Instance]) {
            self.uri = uri
            self.name = name
            self.instances = instances
        }
    }

    /// `version` counts the list subscription's notifications from 0 (RFC 4662 §5.2); with
    /// `fullState` every resource of the list is listed, otherwise only those that changed.
    public static func document(uri: String, version: Int, fullState: Bool, name: String? = nil, resources: [Resource]) -> XMLElement {
        let namespace = PresenceNamespace.rlmi
        var root = XMLElement(XMLName(namespace, "list"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: namespace)])
        root.setAttribute("uri", uri)
        root.setAttribute("version", String(version))
        root.setAttribute("fullState", fullState ? "true" : "false")
        if let name { root.children.append(.element(XMLElement(XMLName(namespace, "name"), children: [.text(name)]))) }
        for resource in resources {
            var element = XMLElement(XMLName(namespace, "resource"))
            element.setAttribute("uri", resource.uri)
            if let name = resource.name { element.children.append(.element(XMLElement(XMLName(namespace, "name"), children: [.text(name)]))) }
            for instance in resource.instances {
                var child = XMLElement(XMLName(namespace, "instance"))
                child.setAttribute("id", instance.id)
                switch instance.state {
                case .active: child.setAttribute("state", "active")
                case .pending: child.setAttribute("state", "pending")
                case .terminated(let reason):
                    child.setAttribute("state", "terminated")
                    if let reason { child.setAttribute("reason", reason) }
                }
                if let contentID = instance.contentID { child.setAttribute("cid", contentID) }
                element.children.append(.element(child))
            }
            root.children.append(.element(element))
        }
        return root
    }
}
