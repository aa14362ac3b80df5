/// Watcher information documents (RFC 3858): who watches a resource, in what state, and the
/// event that put them there.
public enum WatcherInfoDocument {
    /// RFC 3858 §4: the status of a subscription as seen by the watched user.
    public enum Status: String, Sendable, CaseIterable { case pending, active, waiting, terminated }
    /// RFC 3857 §3.5.1: what last changed the watcher's status.
    public enum Event: String, Sendable, CaseIterable {
        case subscribe, approved, deactivated, probation, rejected, timeout, giveup, noresource
    }

    public struct Watcher: Sendable, Equatable {
        public var id: String
        public var uri: String
        public var status: Status
        public var event: Event
        public var displayName: String?
        public var durationSubscribed: Int?
        public var expiration: Int?

        public init(id: String, uri: String, status: Status, event: Event, displayName: String? = nil,
                    durationSubscribed: Int? = nil, expiration: Int? = nil) {
            self.id = id
            self.uri = uri
            self.status = status
            self.event = event
            self.displayName = displayName
            self.durationSubscribed = durationSubscribed
            self.expiration = expiration
        }
    }

    public enum State: String, Sendable { case full, partial }

    /// `version` counts documents per winfo subscription, from 0 (RFC 3858 §4.3). A partial
    /// document lists only the watchers that changed (§4.4).
    public static func document(
        version: Int, state: State, resource: String, package: String, watchers: [Watcher]
    ) -> XMLElement {
        let namespace = PresenceNamespace.watcherInfo
        var list = XMLElement(XMLName(namespace, "watcher-list"))
        list.setAttribute("resource", resource)
        list.setAttribute("package", package)
        for watcher in watchers {
            var element = XMLElement(XMLName(namespace, "watcher"), children: [.text(watcher.uri)])
            element.setAttribute("status", watcher.status.rawValue)
            element.setAttribute("id", watcher.id)
            if let displayName = watcher.displayName { element.setAttribute("display-name", displayName) }
            element.setAttribute("event", watcher.event.rawValue)
            if let duration = watcher.durationSubscribed { element.setAttribute("duration-subscribed", String(duration)) }
            if let expiration = watcher.expiration { element.setAttribute("expiration", String(expiration)) }
            list.children.append(.element(element))
        }
        var root = XMLElement(
            XMLName(namespace, "watcherinfo"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: namespace)],
            children: [.element(list)])
        root.setAttribute("version", String(version))
        root.setAttribute("state", state.rawValue)
        return root
    }
}
