import Hummingbird
import NIOCore

/// The request context of Herald's HTTP port: Hummingbird's core storage plus the peer's
/// address, which decides whether `X-3GPP-Intended-Identity` may be believed.
public struct HeraldRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
