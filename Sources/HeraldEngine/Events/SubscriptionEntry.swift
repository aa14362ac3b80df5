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
    /// The dialog this subscription lives in, shared with any other subscription the subscriber
    /// added to it (RFC 6665 §4.5.2).
    let dialog: SubscriptionDialog
    /// Seconds since 1970.
    var expiresAt: Int64
    let createdAt: Int64
    var machine: NotifierSubscription
    var destination: SIPDestination
    /// The next state NOTIFY must be a full document (first one, refresh, RFC 3858 §4.3).
    var needsFullState = true
    /// Why each watcher is in its state, for winfo `event` (RFC 3857 §3.5.1).
    var lastWatcherEvent: WatcherInfoDocument.Event = .subscribe
    /// The watcher's identity was established (digest, a trusted host, or `--auth none`), so
    /// identity conditions may match it (RFC 4745 §7.1).
    var watcherAuthenticated = true
    /// Listed in `SIPEngine.waitingByWatcher` (a waiting watcher, RFC 3857 §4.7.1).
    var countedAsWaiting = false
    /// The watcher reads only the pre-RFC 3863 presence format (`CPIMPIDF`).
    var usesCPIMPIDF = false
    /// The earliest state change not yet carried by a NOTIFY (the publish-to-notify metric).
    var stateChangedAt: NIODeadline?
    /// Partial-state bookkeeping of winfo and reg subscriptions; nil for the rest.
    private var partialState: PartialStateBox?
    /// Boxed: most subscriptions have none, and the inline optional is large.
    private var transformationsBox: TransformationsBox?

    init(
        id: String, eventID: String?, resource: String, resourceURI: String, expiresAt: Int64, createdAt: Int64, dialog: SubscriptionDialog,
        machine: NotifierSubscription, package: EventPackage, destination: SIPDestination
    ) {
        self.id = id
        self.package = package
        self.eventID = eventID
        self.resource = resource
        self.resourceURI = resourceURI
        self.dialog = dialog
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.machine = machine
        self.destination = destination
    }

    /// The stored form, with the state machine's status and the destination's text.
    var record: SubscriptionRecord {
        let fields = self.dialogFields
        return SubscriptionRecord(
            id: self.id, event: self.package.key, eventID: self.eventID, resource: self.resource, resourceURI: self.resourceURI,
            watcher: fields.watcher, watcherAddress: fields.watcherAddress, watcherDisplayName: fields.watcherDisplayName,
            callID: fields.callID, localTag: fields.localTag, remoteTag: fields.remoteTag, remoteTarget: fields.remoteTarget,
            routeSet: fields.routeSet, localCSeqReserved: self.dialog.localCSeqReserved, remoteCSeq: self.dialog.remoteCSeq,
            expiresAt: self.expiresAt,
            status: self.machine.isWaiting ? Self.waitingStatus : self.machine.status.rawValue,
            authorization: self.machine.authorization.rawValue,
            destination: self.destination.storedForm, createdAt: self.createdAt,
            notifyContentType: self.usesCPIMPIDF ? CPIMPIDF.contentType : nil)
    }

    /// The stored status of a waiting watcher (RFC 3857 §4.7.1), whose `expiresAt` is the
    /// time it is given up.
    static let waitingStatus = "waiting"

    var dialogFields: DialogFields { self.dialog.fields }

    /// The watcher's address-of-record.
    var watcher: String { self.dialog.fields.watcher }

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
    /// A subscription to a resource list: its members and their instances (RFC 4662).
    var resourceList: ResourceListSubscription? {
        get { self.partialState?.resourceList }
        set { self.partialStateBox.resourceList = newValue }
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
    /// and remote tag are compared after the lookup (`SubscriptionDialog.matches`). Short enough to be
    /// stored inline, without an allocation, when there is no event id.
    static func id(localTag: String, event: String, eventID: String?) -> String {
        let code: String
        switch event {
        case "presence": code = "p"
        case "presence.winfo": code = "w"
        case "message-summary": code = "m"
        case "reg": code = "r"
        case "presence-list": code = "l"
        default: code = "|" + event
        }
        return localTag + code + (eventID.map { ";" + $0 } ?? "")
    }

    /// The id earlier versions stored (the whole dialog id); subscriptions restored from such a
    /// store keep it.
    static func legacyID(callID: String, localTag: String, remoteTag: String, event: String, eventID: String?) -> String {
        [callID, localTag, remoteTag, event, eventID ?? ""].joined(separator: "|")
    }

}

/// The dialog one or more subscriptions live in. A subscription usually has its dialog to
/// itself, but a subscriber may add subscriptions to an existing dialog with a SUBSCRIBE in it
/// that names another event or id (RFC 6665 §4.5.2). They then share what RFC 3261 §12 keeps per
/// dialog: its identity, remote target and route set, and the CSeq spaces, so NOTIFY CSeqs
/// rise across all of them (§12.2.1.1) and the subscriber's SUBSCRIBE CSeqs too (§12.2.2).
/// Confined to the engine loop.
final class SubscriptionDialog: @unchecked Sendable {
    /// `DialogFields.packed`: one string rather than a String per field, because a server
    /// holds hundreds of thousands of dialogs.
    private var text: String
    // (Declared in this order so that the flag fits in the counters' padding: 80 bytes a dialog.)
    /// The next NOTIFY's CSeq.
    var localCSeq: UInt32
    /// NOTIFY CSeq numbers up to this one may have been used (reserved in the store).
    var localCSeqReserved: UInt32
    /// The highest CSeq of the subscriber's requests in the dialog.
    var remoteCSeq: UInt32
    /// A NOTIFY of this dialog awaits its final response. Another waits in `queuedNotifies`:
    /// sent together over UDP, a later CSeq could arrive first, and the subscriber would refuse
    /// the earlier one as out of order (RFC 3261 §12.2.2).
    var notifyInFlight = false
    /// The subscription that created the dialog, or the oldest one left.
    private(set) var firstSubscriptionID: String
    /// Subscriptions added later in the dialog; empty (no allocation) for almost every dialog.
    private(set) var laterSubscriptionIDs: [String] = []
    var queuedNotifies: [() -> Void] = []

    init(fields: DialogFields, localCSeq: UInt32, localCSeqReserved: UInt32, remoteCSeq: UInt32, firstSubscriptionID: String) {
        self.text = fields.packed
        self.localCSeq = localCSeq
        self.localCSeqReserved = localCSeqReserved
        self.remoteCSeq = remoteCSeq
        self.firstSubscriptionID = firstSubscriptionID
    }

    var fields: DialogFields { DialogFields(packed: self.text) }

    /// The engine's index key for a dialog with this local tag.
    static func key(localTag: String) -> UInt64 { FNV1a.hash(localTag.utf8) }

    /// The dialog's fields as bytes of the packed text, without a String per field: what a
    /// NOTIFY needs, thousands of times a second.
    func withBytes<Result>(_ body: (PackedDialogFields) -> Result) -> Result {
        var text = self.text
        return text.withUTF8 { body(PackedDialogFields(bytes: $0)) }
    }

    /// Every subscription in the dialog, oldest first.
    var subscriptionIDs: [String] { [self.firstSubscriptionID] + self.laterSubscriptionIDs }

    var isShared: Bool { !self.laterSubscriptionIDs.isEmpty }

    func add(subscriptionID: String) { self.laterSubscriptionIDs.append(subscriptionID) }

    /// Takes a subscription out of the dialog; true when none is left, and the dialog is over.
    func remove(subscriptionID: String) -> Bool {
        if subscriptionID == self.firstSubscriptionID {
            guard !self.laterSubscriptionIDs.isEmpty else { return true }
            self.firstSubscriptionID = self.laterSubscriptionIDs.removeFirst()
        } else {
            self.laterSubscriptionIDs.removeAll { $0 == subscriptionID }
        }
        return false
    }

    /// The CSeq for the next NOTIFY, and whether the reservation grew (the caller stores it).
    /// It grows while half a block is still unused, so that the store's write lands long before
    /// the dialog gets to numbers it has not reserved, and a restart never reuses one. Wrapping
    /// arithmetic: a corrupt stored reservation must not crash the server (RFC 3261 §8.1.1.5
    /// keeps CSeqs below 2**31; no dialog gets near).
    func takeLocalCSeq(reservationBlock: UInt32) -> (cseq: UInt32, reservationGrew: Bool) {
        let cseq = self.localCSeq
        self.localCSeq &+= 1
        guard self.localCSeq &+ reservationBlock / 2 > self.localCSeqReserved else { return (cseq, false) }
        self.localCSeqReserved = self.localCSeq &+ reservationBlock
        return (cseq, true)
    }

    /// RFC 6665 §4.1.2.1: a request is in this dialog when its local tag, Call-ID and remote tag
    /// all match (the index found it by a hash of the local tag).
    func matches(localTag: String, callID: String, remoteTag: String) -> Bool {
        let fields = self.fields
        return fields.localTag == localTag && fields.callID == callID && fields.remoteTag == remoteTag
    }

    /// RFC 3261 §12.2.2: a refresh's Contact replaces the dialog's remote target; true when it changed.
    @discardableResult func updateRemoteTarget(_ target: String) -> Bool {
        var fields = self.fields
        guard fields.remoteTarget != target else { return false }
        fields.remoteTarget = target
        self.text = fields.packed
        return true
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

    init(record: SubscriptionRecord) {
        self.init(
            callID: record.callID, localTag: record.localTag, remoteTag: record.remoteTag, watcher: record.watcher,
            watcherAddress: record.watcherAddress, watcherDisplayName: record.watcherDisplayName, remoteTarget: record.remoteTarget,
            routeSet: record.routeSet)
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
/// (i+1)-th NUL. Valid only inside `SubscriptionDialog.withBytes`.
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
    var resourceList: ResourceListSubscription?
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
