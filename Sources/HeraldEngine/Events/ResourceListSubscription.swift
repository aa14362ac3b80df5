import PresenceDocuments
import SIPProtocol

/// A resource list service (RFC 4826 §4) from its owner's rls-services document: a SIP URI
/// whose presence subscriptions fan out to a list.
struct RLSService {
    /// The service URI as the document writes it (RLMI `list/@uri`).
    let uri: String
    /// The user whose rls-services document defines it; only she subscribes to it.
    let owner: String
    let list: ListSource
    /// The packages the service serves (`<packages>`); nil: any.
    let packages: [String]?

    enum ListSource {
        /// `<resource-list>`: an XCAP URI of a list in the owner's resource-lists documents.
        case reference(String)
        /// `<list>`: the list written inside the service.
        case inline(XMLElement)
    }

    func serves(_ package: String) -> Bool { self.packages.map { $0.contains(package) } ?? true }
}

/// What the engine keeps for a subscription to a resource list (RFC 4662): the list's
/// resources and instances (`ResourceListState`), and the back-end subscription to each member:
/// the authorization the member's rules give the list's owner. Back-end subscriptions to users
/// of this server are kept here rather than sent as SIP (RFC 4662 §4.4 leaves that to the
/// RLS); they show in the members' watcher information like any watcher.
final class ResourceListSubscription {
    var state: ResourceListState
    /// The service URI as its document writes it, and the list's display name.
    var serviceURI = ""
    var listName: String?
    /// By member key (address-of-record).
    var backEnds: [String: BackEnd] = [:]

    /// `version`: the next RLMI version (above any sent before a restart).
    init(version: Int) {
        self.state = ResourceListState(version: version, instancePrefix: SIPEngine.makeTag())
    }

    struct BackEnd: Equatable {
        /// nil for a member in another domain: no back-end subscription is made across domains
        /// yet, so its instance stays pending.
        var authorization: SubscriptionAuthorization?
        var transformations: PresenceTransformations?
        /// Why the back-end subscription is in its state, for the member's winfo (RFC 3857 §3.5.1).
        var lastWatcherEvent: WatcherInfoDocument.Event

        /// RFC 4662 §5.2: the instance state the back-end subscription's state gives.
        var instanceState: RLMIDocument.InstanceState {
            switch self.authorization {
            case .allow?, .politeBlock?: return .active
            case .pending?, nil: return .pending
            case .reject?: return .terminated(reason: "rejected")
            }
        }
    }
}
