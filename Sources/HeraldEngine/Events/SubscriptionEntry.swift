import HeraldStore
import PresenceDocuments
import NIOCore
import SIPCore
import SIPProtocol

/// One live subscription: its dialog and identity, its state machine, where its NOTIFYs go, and
/// what the next NOTIFY body must say. Confined to the engine loop.
///
/// Kept compact because a server holds hundreds of thousands of these: the id is a short
/// inline string, the resource strings are shared by every watcher of a resource, and the
/// dialog's text (Call-ID, tags, watcher, remote target, route set) lives in one packed string
/// that is unpacked only to build a NOTIFY or write the record.
final class SubscriptionEntry: @unchecked Sendable {
    let id: String
    let package: EventPackage
    let eventID: String?
    let resource: String
    /// The resource URI as subscribed to (From of NOTIFYs); usually the same string as `resource`.
    let resourceURI: String
    private var dialogText: String
    /// NOTIFY CSeq numbers up to this one may have been used (reserved in the store).
    var localCSeqReserved: UInt32
    var remoteCSeq: UInt32
    /// Seconds since 1970.
    var expiresAt: Int64
    let createdAt: Int64
    var machine: NotifierSubscription
    var destination: SIPDestination
    /// The next NOTIFY CSeq to use; numbers up to `localCSeqReserved` are reserved in the store.
    var localCSeq: UInt32
    /// The next state NOTIFY must be a full document (first one, refresh, RFC 3858 §4.3).
    var needsFullState = true
    /// Why each watcher is in its state, for winfo `event` (RFC 3857 §3.5.1).
    var lastWatcherEvent: WatcherInfoDocument.Event = .subscribe
    /// The watcher's identity was established (digest, a trusted host, or `--auth none`), so
    /// identity conditions may match it (RFC 4745 §7.1).
    var watcherAuthenticated = true
    /// The earliest state change not yet carried by a NOTIFY (the publish-to-notify metric).
    var stateChangedAt: NIODeadline?
    /// Partial-state bookkeeping of winfo and reg subscriptions; nil for the rest.
    private var partialState: PartialStateBox?
    /// Boxed: most subscriptions have none, and the inline optional is large.
    private var transformationsBox: TransformationsBox?

    init(record: SubscriptionRecord, machine: NotifierSubscription, package: EventPackage, destination: SIPDestination, localCSeq: UInt32) {
        self.id = record.id
        self.package = package
        self.eventID = record.eventID
        self.resource = record.resource
        self.resourceURI = record.resourceURI
        self.dialogText = DialogFields.pack(record)
        self.localCSeqReserved = record.localCSeqReserved
        self.remoteCSeq = record.remoteCSeq
        self.expiresAt = record.expiresAt
        self.createdAt = record.createdAt
        self.machine = machine
        self.destination = destination
        self.localCSeq = localCSeq
    }

    /// The stored form, with the state machine's status and the destination's text.
    var record: SubscriptionRecord {
        let fields = self.dialogFields
        return SubscriptionRecord(
            id: self.id, event: self.package.name, eventID: self.eventID, resource: self.resource, resourceURI: self.resourceURI,
            watcher: fields.watcher, watcherAddress: fields.watcherAddress, watcherDisplayName: fields.watcherDisplayName,
            callID: fields.callID, localTag: fields.localTag, remoteTag: fields.remoteTag, remoteTarget: fields.remoteTarget,
            routeSet: fields.routeSet, localCSeqReserved: self.localCSeqReserved, remoteCSeq: self.remoteCSeq, expiresAt: self.expiresAt,
            status: self.machine.status.rawValue, authorization: self.machine.authorization.rawValue,
            destination: self.destination.storedForm, createdAt: self.createdAt)
    }

    var dialogFields: DialogFields { DialogFields(packed: self.dialogText) }

    /// The dialog's fields as bytes of the packed text, without a String per field: what a
    /// NOTIFY needs, thousands of times a second.
    func withDialogBytes<Result>(_ body: (PackedDialogFields) -> Result) -> Result {
        var text = self.dialogText
        return text.withUTF8 { body(PackedDialogFields(bytes: $0)) }
    }

    /// The watcher's address-of-record.
    var watcher: String { self.dialogFields.watcher }

    /// RFC 3261 §12.2.2: a refresh's Contact replaces the remote target.
    func updateRemoteTarget(_ target: String) {
        var fields = self.dialogFields
        guard fields.remoteTarget != target else { return }
        fields.remoteTarget = target
        self.dialogText = fields.packed
    }

    /// What the presentity's rules let this watcher see (RFC 5025 §3.3); nil: everything
    /// (no rules, or the presentity herself).
    var transformations: PresenceTransformations? {
        get { self.transformationsBox?.value }
        set { self.transformationsBox = newValue.map(TransformationsBox.init) }
    }

    /// Watcher-info version counter (RFC 3858 §4.3), per winfo subscription.
    var watcherInfoVersion: Int {
        get { self.partialState?.watcherInfoVersion ?? 0 }
        _modify { yield &self.partialStateBox.watcherInfoVersion }
    }
    /// Watchers changed since the last winfo NOTIFY, by subscription id.
    var changedWatchers: [String: WatcherInfoDocument.Watcher] {
        get { self.partialState?.changedWatchers ?? [:] }
        _modify { yield &self.partialStateBox.changedWatchers }
    }
    /// Contacts changed since the last reg NOTIFY, by contact id (RFC 3680 partial state).
    var changedContacts: [String: RegInfoDocument.Contact] {
        get { self.partialState?.changedContacts ?? [:] }
        _modify { yield &self.partialStateBox.changedContacts }
    }

    private var partialStateBox: PartialStateBox {
        if let box = self.partialState { return box }
        let box = PartialStateBox()
        self.partialState = box
        return box
    }

    /// Matches an in-dialog SUBSCRIBE (RFC 6665 §4.1.2.1: dialog plus Event type and id). Our
    /// local tag is 64 random bits, unique per dialog, so it names the dialog here; the Call-ID
    /// and remote tag are compared after the lookup (`belongs(toDialog:)`). Short enough to be
    /// stored inline, without an allocation, when there is no event id.
    static func id(localTag: String, event: String, eventID: String?) -> String {
        let code: String
        switch event {
        case "presence": code = "p"
        case "presence.winfo": code = "w"
        case "message-summary": code = "m"
        case "reg": code = "r"
        default: code = "|" + event
        }
        return localTag + code + (eventID.map { ";" + $0 } ?? "")
    }

    /// The id earlier versions stored (the whole dialog id); subscriptions restored from such a
    /// store keep it.
    static func legacyID(callID: String, localTag: String, remoteTag: String, event: String, eventID: String?) -> String {
        [callID, localTag, remoteTag, event, eventID ?? ""].joined(separator: "|")
    }

    func belongs(toDialog callID: String, remoteTag: String) -> Bool {
        let fields = self.dialogFields
        return fields.callID == callID && fields.remoteTag == remoteTag
    }
}

/// The dialog's text fields, packed into one string separated by NUL, which no header value contains.
struct DialogFields {
    var callID: String
    var localTag: String
    var remoteTag: String
    var watcher: String
    var watcherAddress: String
    var watcherDisplayName: String?
    var remoteTarget: String
    var routeSet: [String]

    static func pack(_ record: SubscriptionRecord) -> String {
        DialogFields(
            callID: record.callID, localTag: record.localTag, remoteTag: record.remoteTag, watcher: record.watcher,
            watcherAddress: record.watcherAddress, watcherDisplayName: record.watcherDisplayName, remoteTarget: record.remoteTarget,
            routeSet: record.routeSet
        ).packed
    }

    var packed: String {
        let fields = [self.callID, self.localTag, self.remoteTag, self.watcher, self.watcherAddress, self.watcherDisplayName ?? "", self.remoteTarget]
            + self.routeSet
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(fields.count) { $0 + $1.utf8.count })
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(0) }
            // A separator inside a field (no valid header value has one) becomes a space.
            for byte in field.utf8 { bytes.append(byte == 0 ? 0x20 : byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    init(
        callID: String, localTag: String, remoteTag: String, watcher: String, watcherAddress: String, watcherDisplayName: String?,
        remoteTarget: String, routeSet: [String]
    ) {
        self.callID = callID
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.watcher = watcher
        self.watcherAddress = watcherAddress
        self.watcherDisplayName = watcherDisplayName
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
    }

    init(packed: String) {
        let parts = packed.utf8.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        func part(_ index: Int) -> String { index < parts.count ? parts[index] : "" }
        self.callID = part(0)
        self.localTag = part(1)
        self.remoteTag = part(2)
        self.watcher = part(3)
        self.watcherAddress = part(4)
        self.watcherDisplayName = part(5).isEmpty ? nil : part(5)
        self.remoteTarget = part(6)
        self.routeSet = parts.count > 7 ? Array(parts[7...]) : []
    }
}

/// A view of `DialogFields.packed` bytes: field `i` is the text between the i-th and the
/// (i+1)-th NUL. Valid only inside `SubscriptionEntry.withDialogBytes`.
struct PackedDialogFields {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Where each field starts; one past the end closes the last.
    private var starts: [Int]

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        var starts = [0]
        starts.reserveCapacity(10)
        for index in bytes.indices where bytes[index] == 0 { starts.append(index + 1) }
        starts.append(bytes.count + 1)
        self.starts = starts
    }

    private func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        guard index + 1 < self.starts.count else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(rebasing: self.bytes[self.starts[index]..<(self.starts[index + 1] - 1)])
    }

    var callID: UnsafeBufferPointer<UInt8> { self.field(0) }
    var localTag: UnsafeBufferPointer<UInt8> { self.field(1) }
    var remoteTag: UnsafeBufferPointer<UInt8> { self.field(2) }
    var watcherAddress: UnsafeBufferPointer<UInt8> { self.field(4) }
    var remoteTarget: UnsafeBufferPointer<UInt8> { self.field(6) }
    var routeCount: Int { max(0, self.starts.count - 1 - 7) }
    func route(_ index: Int) -> UnsafeBufferPointer<UInt8> { self.field(7 + index) }
}

final class PartialStateBox {
    var watcherInfoVersion = 0
    var changedWatchers: [String: WatcherInfoDocument.Watcher] = [:]
    var changedContacts: [String: RegInfoDocument.Contact] = [:]
}

import PresenceDocuments

extension SIPDestination {
    /// `transport:ip:port`, as stored.
    var storedForm: String {
        "\(self.transport.rawValue):\(self.address.ipAddress ?? ""):\(self.address.port ?? 0)"
    }

    init?(storedForm: String) {
        let parts = storedForm.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let transport = SIPTransportKind(rawValue: String(parts[0])),
            let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...]),
            let address = try? SocketAddress(ipAddress: String(parts[1][..<colon]), port: port)
        else { return nil }
        self.init(transport: transport, address: address)
    }
}

final class TransformationsBox {
    let value: PresenceTransformations
    init(_ value: PresenceTransformations) { self.value = value }
}
