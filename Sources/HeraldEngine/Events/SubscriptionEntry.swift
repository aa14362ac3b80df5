import HeraldStore
import PresenceDocuments
import NIOCore
import SIPCore
import SIPProtocol

/// One live subscription: its stored record (dialog and identity), its state machine, where its
/// NOTIFYs go, and what the next NOTIFY body must say. Confined to the engine loop.
final class SubscriptionEntry: @unchecked Sendable {
    var record: SubscriptionRecord
    var machine: NotifierSubscription
    let package: EventPackage
    var destination: SIPDestination
    /// The next NOTIFY CSeq to use; numbers up to `record.localCSeqReserved` are reserved in the store.
    var localCSeq: UInt32
    /// The next state NOTIFY must be a full document (first one, refresh, RFC 3858 §4.3).
    var needsFullState = true
    /// Watcher-info version counter (RFC 3858 §4.3), per winfo subscription.
    var watcherInfoVersion = 0
    /// Watchers changed since the last winfo NOTIFY, by subscription id.
    var changedWatchers: [String: WatcherInfoDocument.Watcher] = [:]
    /// Contacts changed since the last reg NOTIFY, by contact id (RFC 3680 partial state).
    var changedContacts: [String: RegInfoDocument.Contact] = [:]
    /// Why each watcher is in its state, for winfo `event` (RFC 3857 §3.5.1).
    var lastWatcherEvent: WatcherInfoDocument.Event = .subscribe
    /// What the presentity's rules let this watcher see (RFC 5025 §3.3); nil: everything
    /// (no rules, or the presentity herself).
    var transformations: PresenceTransformations? {
        get { self.transformationsBox?.value }
        set { self.transformationsBox = newValue.map(TransformationsBox.init) }
    }
    /// Boxed: most subscriptions have none, and the inline optional is large.
    private var transformationsBox: TransformationsBox?
    /// The watcher's identity was established (digest, a trusted host, or `--auth none`), so
    /// identity conditions may match it (RFC 4745 §7.1).
    var watcherAuthenticated = true
    /// The earliest state change not yet carried by a NOTIFY (the publish-to-notify metric).
    var stateChangedAt: NIODeadline?

    init(record: SubscriptionRecord, machine: NotifierSubscription, package: EventPackage, destination: SIPDestination, localCSeq: UInt32) {
        self.record = record
        self.machine = machine
        self.package = package
        self.destination = destination
        self.localCSeq = localCSeq
    }

    /// Matches an in-dialog SUBSCRIBE (RFC 6665 §4.1.2.1: dialog plus Event type and id).
    static func id(callID: String, localTag: String, remoteTag: String, event: String, eventID: String?) -> String {
        [callID, localTag, remoteTag, event, eventID ?? ""].joined(separator: "|")
    }
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
