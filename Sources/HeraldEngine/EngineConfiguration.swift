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
    public var registrar: RegistrarPolicy
    public var limits: SIPParserLimits
    public var serverName: String

    public init(
        domains: [String], listenAddresses: [String], authMode: AuthMode = .digest,
        timers: TransactionTimerSettings = TransactionTimerSettings(), registrar: RegistrarPolicy = RegistrarPolicy(),
        limits: SIPParserLimits = SIPParserLimits(), serverName: String = "Herald"
    ) {
        self.domains = domains
        self.listenAddresses = listenAddresses
        self.authMode = authMode
        self.timers = timers
        self.registrar = registrar
        self.limits = limits
        self.serverName = serverName
    }

    /// What the core announces. Extensions are listed only when implemented: `path` because the
    /// registrar stores and returns Path (RFC 3327 §5.3).
    public var capabilities: ServerCapabilities {
        ServerCapabilities(
            allow: [.invite, .ack, .cancel, .bye, .options, .register, .message, .info, .update, .prack, .refer, .notify],
            accept: ["application/sdp"],
            supported: ["path"],
            allowEvents: [])
    }
}
