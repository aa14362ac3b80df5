import Foundation
import HeraldEngine
import HeraldStore
import Hummingbird
import Logging

/// The HTTP side of Herald: health now; XCAP, the admin API and metrics join it later.
public enum HeraldHTTPApplication {
    /// - Parameter isHealthy: true while listeners and store are up.
    public static func make(
        host: String, port: Int, logger: Logger, engine: SIPEngine, store: any HeraldStore, authentication: HTTPAuthentication,
        xcapRoot: String = "/", isHealthy: @escaping @Sendable () async -> Bool,
        metrics: (@Sendable () async -> [UInt8])? = nil,
        onListening: @escaping @Sendable (_ address: String) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: HeraldRequestContext.self)
        ForwardingAPI.register(on: router, store: store, authentication: authentication)
        XCAPService(store: store, engine: engine, authentication: authentication, xcapRoot: xcapRoot).register(on: router)
        // RFC 3842 state from a voicemail system: the body is an application/simple-message-summary.
        router.post("api/mwi/:aor") { request, context -> Response in
            let aor = try context.parameters.require("aor")
            // A voicemail system posts from a trusted host (configuration); anyone else must
            // authenticate as the mailbox's owner.
            let mailbox = aor.removingPercentEncoding ?? aor
            if !authentication.isTrustedPeer(context) {
                let owner = AuthenticatedUser.parse(mailbox, defaultDomain: nil)
                switch try await authentication.require(request, context: context, realm: owner?.domain ?? "", resourceOwner: owner) {
                case .failure(let failure):
                    return failure.response
                case .success(let user) where user != owner:
                    return HTTPFailure(status: .forbidden, text: "only the mailbox owner or a trusted host may post its state\n").response
                case .success:
                    break
                }
            }
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let status = try await engine.publishMessageSummary(mailbox: aor.removingPercentEncoding ?? aor, body: Array(buffer.readableBytesView)).get()
            let text: String
            switch status {
            case 200: text = "stored\n"
            case 404: text = "not a mailbox of a served domain\n"
            default: text = "malformed message summary\n"
            }
            return Response(
                status: HTTPResponse.Status(code: status), headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        if let metrics {
            // Prometheus text exposition format 0.0.4.
            router.get("metrics") { _, _ -> Response in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: await metrics())))
            }
        }
        router.get("healthz") { _, _ -> Response in
            let healthy = await isHealthy()
            return Response(
                status: healthy ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: healthy ? "ok\n" : "unavailable\n")))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "Herald"),
            onServerRunning: { channel in await onListening(channel.localAddress.map { "\($0)" } ?? "\(host):\(port)") },
            logger: logger)
    }
}
