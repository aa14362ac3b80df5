import HeraldEngine
import Hummingbird
import Logging

/// The HTTP side of Herald: health now; XCAP, the admin API and metrics join it later.
public enum HeraldHTTPApplication {
    /// - Parameter isHealthy: true while listeners and store are up.
    public static func make(
        host: String, port: Int, logger: Logger, isHealthy: @escaping @Sendable () async -> Bool
    ) -> some ApplicationProtocol {
        let router = Router()
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
            logger: logger)
    }
}
