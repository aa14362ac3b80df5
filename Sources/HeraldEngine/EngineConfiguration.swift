import SIPCore
import SIPProtocol

public enum AuthMode: String, Sendable, CaseIterable {
    /// RFC 3261 §22 digest authentication of every request from a served domain.
    case digest
    /// No authentication: for development only.
    case none
}

public struct EngineConfiguration: Sendable {
    public var domains: [String]
    /// Host literals of the listeners: requests to them are for the server itself.
    public var listenAddresses: [String]
    public var authMode: AuthMode
    public var timers: TransactionTimerSettings
    public var registrar: ExpiryPolicy
    public var limits: SIPParserLimits
    public var serverName: String
    /// Policy for watchers of presentities without rules of their own.
    public var defaultPolicy: DefaultAuthorizationPolicy
    /// How long a watcher's request may await the presentity's decision, pending and then
    /// waiting, before it is given up (RFC 3857 §4.7.1: long enough for her to log in days
    /// later); nil: a pending subscription that expires is simply gone.
    public var authorizationWait: Duration?
    /// How many waiting requests (RFC 3857 §4.7.1) one watcher may leave behind, over all
    /// presentities; beyond it the oldest is given up. RFC 3857 recommends such a limit: a
    /// waiting request costs its watcher nothing to keep, but the server stores it for the
    /// whole authorization wait.
    public var maxWaitingPerWatcher: Int
    /// `host:port` Herald puts in Via and Contact for each transport (the listener's address).
    public var sentBy: [SIPTransportKind: String]
    /// IP addresses of trusted network elements (an S-CSCF, an application server): their
    /// requests are not challenged and they may subscribe to any user's `reg` state (RFC 3680 §6).
    public var trustedHosts: Set<String>
    /// Next hops for other domains (no DNS): requests from local users to them are relayed.
    public var routes: StaticRouteTable
    /// RFC 3261 §16.8 Timer C: how long a proxied INVITE branch may ring (more than 3 minutes).
    public var proxyInviteTimeout: Duration
    /// The XCAP root path (RFC 4825 §6.1) under which references between documents resolve.
    public var xcapRoot: String
    /// Key of the Record-Route token (`RecordRouteToken`); kept in the data directory so that
    /// dialogs survive a restart.
    public var routeSecret: [UInt8]

    public init(
        domains: [String], listenAddresses: [String], authMode: AuthMode = .digest,
        timers: TransactionTimerSettings = TransactionTimerSettings(), registrar: ExpiryPolicy = ExpiryPolicy(),
        limits: SIPParserLimits = SIPParserLimits(), serverName: String = "Herald",
        defaultPolicy: DefaultAuthorizationPolicy = .confirm, authorizationWait: Duration? = Self.defaultAuthorizationWait,
        maxWaitingPerWatcher: Int = Self.defaultMaxWaitingPerWatcher,
        sentBy: [SIPTransportKind: String] = [:], trustedHosts: [String] = [],
        routes: StaticRouteTable = StaticRouteTable(), proxyInviteTimeout: Duration = .seconds(181),
        xcapRoot: String = "/", routeSecret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }
    ) {
        self.routeSecret = routeSecret
        self.xcapRoot = xcapRoot
        self.routes = routes
        self.proxyInviteTimeout = proxyInviteTimeout
        self.trustedHosts = Set(trustedHosts.map { $0.lowercased() })
        self.defaultPolicy = defaultPolicy
        self.authorizationWait = authorizationWait
        self.maxWaitingPerWatcher = maxWaitingPerWatcher
        self.sentBy = sentBy
        self.domains = domains
        self.listenAddresses = listenAddresses
        self.authMode = authMode
        self.timers = timers
        self.registrar = registrar
        self.limits = limits
        self.serverName = serverName
    }

    /// A week.
    public static let defaultAuthorizationWait: Duration = .seconds(7 * 24 * 3600)
    public static let defaultMaxWaitingPerWatcher = 50

    /// What the core announces. Extensions are listed only when implemented: `path` because the
    /// registrar stores and returns Path (RFC 3327 §5.3).
    public var capabilities: ServerCapabilities {
        ServerCapabilities(
            allow: [
                .invite, .ack, .cancel, .bye, .options, .register, .subscribe, .notify, .publish, .message, .info, .update,
                .prack, .refer,
            ],
            accept: ["application/sdp", "application/pidf+xml", "application/simple-message-summary"],
            supported: ["path", "eventlist"],
            allowEvents: EventPackage.all.map(\.name))
    }
}
