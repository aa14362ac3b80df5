import PresenceDocuments
import SIPProtocol

/// An event package the notifier serves (RFC 6665 §7): its name, the body type of its
/// NOTIFYs, what PUBLISH may carry, its expiry limits and who may subscribe.
/// A class: every subscription refers to its package, and one shared instance per package
/// costs a pointer where a copy cost a few hundred bytes per subscription.
public final class EventPackage: Sendable {
    public enum Kind: Sendable { case presence, watcherInfo, messageSummary, registration, resourceList }

    public let kind: Kind
    /// The Event header's package name.
    public let name: String
    /// What the server files and stores the package's subscriptions under: the name, except
    /// for subscriptions to resource lists, whose Event is the listed resources' package.
    public let key: String
    public let notifyContentType: String
    /// Other NOTIFY body types, for a subscriber whose Accept names none of the usual one.
    public let alternativeNotifyContentTypes: [String]
    /// Body types accepted in PUBLISH; empty when the package's state is not published.
    public let publishContentTypes: [String]
    public let subscriptionExpiry: ExpiryPolicy
    public let publicationExpiry: ExpiryPolicy
    /// Only the resource's owner may subscribe (watcher information, RFC 3857 §5.1; message
    /// summaries, RFC 3842 §6).
    public let ownerOnly: Bool

    init(
        kind: Kind, name: String, key: String? = nil, notifyContentType: String, alternativeNotifyContentTypes: [String] = [],
        publishContentTypes: [String], subscriptionExpiry: ExpiryPolicy, publicationExpiry: ExpiryPolicy, ownerOnly: Bool
    ) {
        self.alternativeNotifyContentTypes = alternativeNotifyContentTypes
        self.kind = kind
        self.name = name
        self.key = key ?? name
        self.notifyContentType = notifyContentType
        self.publishContentTypes = publishContentTypes
        self.subscriptionExpiry = subscriptionExpiry
        self.publicationExpiry = publicationExpiry
        self.ownerOnly = ownerOnly
    }

    /// RFC 3856 presence, PIDF bodies (RFC 3863).
    public static let presence = EventPackage(
        kind: .presence, name: "presence", notifyContentType: "application/pidf+xml", alternativeNotifyContentTypes: [CPIMPIDF.contentType],
        publishContentTypes: ["application/pidf+xml"],
        subscriptionExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600),
        publicationExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600), ownerOnly: false)

    /// RFC 3857 watcher information for presence (RFC 3858 bodies).
    public static let presenceWatcherInfo = EventPackage(
        kind: .watcherInfo, name: "presence.winfo", notifyContentType: "application/watcherinfo+xml", publishContentTypes: [],
        subscriptionExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600),
        publicationExpiry: ExpiryPolicy(), ownerOnly: true)

    /// RFC 3842 message waiting indication.
    public static let messageSummary = EventPackage(
        kind: .messageSummary, name: "message-summary", notifyContentType: "application/simple-message-summary",
        publishContentTypes: ["application/simple-message-summary"],
        subscriptionExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600),
        publicationExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 31_536_000, defaultExpires: 86_400), ownerOnly: true)

    /// RFC 3680 registration state, for the address-of-record's owner.
    public static let registration = EventPackage(
        kind: .registration, name: "reg", notifyContentType: "application/reginfo+xml", publishContentTypes: [],
        subscriptionExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600),
        publicationExpiry: ExpiryPolicy(), ownerOnly: true)

    /// RFC 4662 presence of a resource list (an RLS service, RFC 4826 §4), Event `presence`:
    /// NOTIFYs carry `multipart/related` with an RLMI document and the members' PIDF. Only the
    /// list's owner subscribes: what the members' rules let her see is what the list shows.
    public static let presenceList = EventPackage(
        kind: .resourceList, name: "presence", key: "presence-list", notifyContentType: "multipart/related", publishContentTypes: [],
        subscriptionExpiry: ExpiryPolicy(minExpires: 60, maxExpires: 86_400, defaultExpires: 3_600),
        publicationExpiry: ExpiryPolicy(), ownerOnly: true)

    /// The packages a SUBSCRIBE or PUBLISH may name (Allow-Events).
    public static let all: [EventPackage] = [.presence, .presenceWatcherInfo, .messageSummary, .registration]

    /// Every kind of subscription the server keeps.
    public static let subscribable: [EventPackage] = all + [.presenceList]

    public static func named(_ name: String) -> EventPackage? {
        Self.all.first { $0.name == name.lowercased() }
    }

    /// The package a stored subscription record names (`SubscriptionRecord.event` is the key).
    public static func stored(_ key: String) -> EventPackage? {
        Self.subscribable.first { $0.key == key }
    }
}

/// The answer for watchers of a presentity that has no rules of its own (RFC 3856 §5.1 leaves it
/// to policy): `confirm` keeps them pending until the presentity decides.
public enum DefaultAuthorizationPolicy: String, Sendable, CaseIterable {
    case allow, confirm, block

    var authorization: SubscriptionAuthorization {
        switch self {
        case .allow: return .allow
        case .confirm: return .pending
        case .block: return .reject
        }
    }
}
