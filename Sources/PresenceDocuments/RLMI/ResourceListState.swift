/// What a resource list server knows about one list subscription (RFC 4662): the list's
/// resources in order, the state of each one's back-end subscription ("instance"), which of
/// them changed since the last notification, and the RLMI version. Pure: the caller says what
/// changed and gets, per notification, the RLMI document and the state parts to send with it.
public struct ResourceListState: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        /// The resource's URI as the list names it (RFC 4662 §5.2 `resource/@uri`).
        public var uri: String
        /// Its display name in the list, if any (`<name>` of the RLMI resource).
        public var name: String?

        public init(uri: String, name: String? = nil) {
            self.uri = uri
            self.name = name
        }
    }

    /// One part of a notification besides the RLMI document: the state of an active instance.
    public struct Part: Sendable, Equatable {
        public var contentID: String
        public var contentType: String
        public var body: [UInt8]

        public init(contentID: String, contentType: String, body: [UInt8]) {
            self.contentID = contentID
            self.contentType = contentType
            self.body = body
        }
    }

    public struct Notification: Sendable, Equatable {
        /// The RLMI document (RFC 4662 §5), the root part.
        public var rlmi: XMLElement
        public var rlmiContentID: String
        public var parts: [Part]
        public var fullState: Bool
    }

    public private(set) var members: [Member] = []
    private var statuses: [String: RLMIDocument.InstanceState] = [:]
    /// Per resource, the instance id the caller gave it.
    private var instanceBases: [String: String] = [:]
    /// Per resource, how many instances ended before the current one: a back-end subscription
    /// that ended and came back is a new instance (RFC 4662 §5.2: an id names one instance).
    private var instanceGenerations: [String: Int] = [:]
    private var changed: Set<String> = []
    private var needsFullState = true
    /// The next notification's version (RFC 4662 §5.2: 0 first, then one more per notification).
    public private(set) var version: Int

    public init(version: Int = 0) {
        self.version = version
    }

    /// Whether a notification has something to say.
    public var hasChanges: Bool { self.needsFullState || !self.changed.isEmpty }

    public func status(of uri: String) -> RLMIDocument.InstanceState? { self.statuses[uri] }

    /// The list's resources (re-resolved from its documents). A change of membership is sent
    /// as full state, which lists exactly the resources the list has now (§4.5). `instanceID`
    /// gives a new resource's instance id, unique within the resource.
    /// Returns the resources that left the list.
    @discardableResult
    public mutating func setMembers(_ members: [Member], initialStatus: (Member) -> RLMIDocument.InstanceState, instanceID: (String) -> String)
        -> [Member]
    {
        var seen = Set<String>()
        let unique = members.filter { seen.insert($0.uri).inserted }
        guard unique != self.members else { return [] }
        let removed = self.members.filter { !seen.contains($0.uri) }
        for member in removed {
            self.statuses[member.uri] = nil
            self.instanceBases[member.uri] = nil
            self.instanceGenerations[member.uri] = nil
            self.changed.remove(member.uri)
        }
        for member in unique where self.statuses[member.uri] == nil {
            self.statuses[member.uri] = initialStatus(member)
            self.instanceBases[member.uri] = instanceID(member.uri)
        }
        self.members = unique
        self.needsFullState = true
        return removed
    }

    /// The back-end subscription to `uri` changed state; true when it did change.
    @discardableResult
    public mutating func setStatus(_ status: RLMIDocument.InstanceState, of uri: String) -> Bool {
        guard let old = self.statuses[uri], old != status else { return false }
        if case .terminated = old {
            // A terminated instance stays terminated; the resource gets a new one.
            self.instanceGenerations[uri, default: 0] += 1
        }
        self.statuses[uri] = status
        self.changed.insert(uri)
        return true
    }

    /// The state of resource `uri` changed; only an active instance has state to send. True
    /// when a notification is due.
    @discardableResult
    public mutating func resourceStateChanged(_ uri: String) -> Bool {
        guard self.statuses[uri] == .active else { return false }
        self.changed.insert(uri)
        return true
    }

    /// The next notification must be full state (the first one, a refresh, RFC 4662 §4.5).
    public mutating func requestFullState() { self.needsFullState = true }

    /// The next notification, counting its version. Full state lists every resource, partial
    /// state only those that changed (§4.5); each active instance listed carries its state
    /// document, from `document` (nil: listed without a part, as the state is not available).
    /// `contentIDDomain` makes the Content-IDs globally unique (RFC 2392).
    public mutating func nextNotification(
        listURI: String, listName: String?, contentIDDomain: String, document: (String) -> (contentType: String, body: [UInt8])?
    ) -> Notification {
        let full = self.needsFullState || self.changed.isEmpty
        let version = self.version
        let listed = full ? self.members : self.members.filter { self.changed.contains($0.uri) }
        var resources: [RLMIDocument.Resource] = []
        var parts: [Part] = []
        for member in listed {
            guard let status = self.statuses[member.uri], let instanceID = self.instanceID(of: member.uri) else { continue }
            var instance = RLMIDocument.Instance(id: instanceID, state: status)
            if status == .active, let state = document(member.uri) {
                let contentID = "\(instanceID).\(version)@\(contentIDDomain)"
                instance.contentID = contentID
                parts.append(Part(contentID: contentID, contentType: state.contentType, body: state.body))
            }
            resources.append(RLMIDocument.Resource(uri: member.uri, name: member.name, instances: [instance]))
        }
        self.needsFullState = false
        self.changed.removeAll()
        self.version += 1
        let rlmi = RLMIDocument.document(uri: listURI, version: version, fullState: full, name: listName, resources: resources)
        return Notification(rlmi: rlmi, rlmiContentID: "list.\(version)@\(contentIDDomain)", parts: parts, fullState: full)
    }

    /// The id of the resource's current instance.
    public func instanceID(of uri: String) -> String? {
        guard let base = self.instanceBases[uri] else { return nil }
        let generation = self.instanceGenerations[uri] ?? 0
        return generation == 0 ? base : base + "." + String(generation)
    }
}
