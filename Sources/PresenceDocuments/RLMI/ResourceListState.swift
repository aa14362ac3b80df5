/// What a resource list server knows about one list subscription (RFC 4662): the list's
/// resources in order, the state of each one's back-end subscription ("instance"), which of
/// them changed since the last notification, and the RLMI version. Pure: the caller says what
/// changed and gets, per notification, the RLMI document and the state parts to send with it.
public struct ResourceListState: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        /// What identifies the resource (its address-of-record): a list names it once.
        public var key: String
        /// The resource's URI as the list writes it (RFC 4662 §5.2 `resource/@uri`), so that the
        /// subscriber finds it among her own entries.
        public var uri: String
        /// Its display name in the list, if any (`<name>` of the RLMI resource).
        public var name: String?

        public init(key: String, uri: String, name: String? = nil) {
            self.key = key
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
    /// Per resource key, its instance's state and id.
    private var statuses: [String: RLMIDocument.InstanceState] = [:]
    private var instanceIDs: [String: String] = [:]
    /// Instance ids are `prefix-n`, n counting the instances this state made: a resource that
    /// leaves and comes back, or whose instance ended and starts again, gets a new id (RFC 4662
    /// §5.2: an id names one instance). The prefix, new for every life of the subscription (a
    /// restart included), keeps ids from an earlier life from coming back, and makes the
    /// Content-IDs globally unique (RFC 2392).
    private let instancePrefix: String
    private var instanceCount = 0
    private var changed: Set<String> = []
    private var needsFullState = true
    /// The next notification's version (RFC 4662 §5.2: 0 first, then one more per notification).
    public private(set) var version: Int

    public init(version: Int = 0, instancePrefix: String) {
        self.version = version
        self.instancePrefix = instancePrefix
    }

    /// Whether a notification has something to say.
    public var hasChanges: Bool { self.needsFullState || !self.changed.isEmpty }

    /// The id of the resource's current instance.
    public func instanceID(of key: String) -> String? { self.instanceIDs[key] }

    /// The list's resources (re-resolved from its documents), each with the state of a new
    /// resource's instance. A change of membership is sent as full state, which lists exactly
    /// the resources the list has now (§4.5). Returns the resources that left the list.
    @discardableResult
    public mutating func setMembers(_ members: [Member], initialStatus: (Member) -> RLMIDocument.InstanceState) -> [Member] {
        var seen = Set<String>()
        let unique = members.filter { seen.insert($0.key).inserted }
        guard unique != self.members else { return [] }
        let removed = self.members.filter { !seen.contains($0.key) }
        for member in removed {
            self.statuses[member.key] = nil
            self.instanceIDs[member.key] = nil
            self.changed.remove(member.key)
        }
        for member in unique where self.statuses[member.key] == nil {
            self.statuses[member.key] = initialStatus(member)
            self.instanceIDs[member.key] = self.newInstanceID()
        }
        self.members = unique
        self.needsFullState = true
        return removed
    }

    /// The back-end subscription to resource `key` changed state; true when it did change.
    @discardableResult
    public mutating func setStatus(_ status: RLMIDocument.InstanceState, of key: String) -> Bool {
        guard let old = self.statuses[key], old != status else { return false }
        if case .terminated = old {
            // A terminated instance stays terminated; the resource gets a new one.
            self.instanceIDs[key] = self.newInstanceID()
        }
        self.statuses[key] = status
        self.changed.insert(key)
        return true
    }

    private mutating func newInstanceID() -> String {
        self.instanceCount += 1
        return self.instancePrefix + "-" + String(self.instanceCount, radix: 36)
    }

    /// The state of resource `key` changed; only an active instance has state to send. True
    /// when a notification is due.
    @discardableResult
    public mutating func resourceStateChanged(_ key: String) -> Bool {
        guard self.statuses[key] == .active else { return false }
        self.changed.insert(key)
        return true
    }

    /// The next notification must be full state (the first one, a refresh, RFC 4662 §4.5).
    public mutating func requestFullState() { self.needsFullState = true }

    /// The next notification, counting its version. Full state lists every resource, partial
    /// state only those that changed (§4.5); each active instance listed carries its state
    /// document, from `document` (by resource key; nil: listed without a part, as the state is
    /// not available). `contentIDDomain` is the right-hand side of the Content-IDs (RFC 2392).
    /// Once the parts hold `stateBudget` bytes, further active instances are listed without
    /// their state (no `cid`), which their next change brings: one notification stays bounded
    /// whatever the members publish.
    public mutating func nextNotification(
        listURI: String, listName: String?, contentIDDomain: String, stateBudget: Int = .max,
        document: (String) -> (contentType: String, body: [UInt8])?
    ) -> Notification {
        let full = self.needsFullState || self.changed.isEmpty
        let version = self.version
        let listed = full ? self.members : self.members.filter { self.changed.contains($0.key) }
        var resources: [RLMIDocument.Resource] = []
        var parts: [Part] = []
        var budget = stateBudget
        for member in listed {
            guard let status = self.statuses[member.key], let instanceID = self.instanceIDs[member.key] else { continue }
            var instance = RLMIDocument.Instance(id: instanceID, state: status)
            if status == .active, budget > 0, let state = document(member.key), state.body.count <= budget {
                budget -= state.body.count
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
        return Notification(
            rlmi: rlmi, rlmiContentID: "\(self.instancePrefix).\(version)@\(contentIDDomain)", parts: parts, fullState: full)
    }
}
