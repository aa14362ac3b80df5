import HeraldEngine
import HeraldStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SIPCore
import SIPProtocol
import SIPTesting

/// An engine on a virtual-time event loop, with a recording sink and an in-memory store.
struct EngineHarness {
    let loop = NIOAsyncTestingEventLoop()
    let sink = RecordingSink()
    let store: InMemoryHeraldStore
    let engine: SIPEngine
    static let client = try! SocketAddress(ipAddress: "192.0.2.10", port: 5060)
    static let routeSecret = [UInt8](repeating: 7, count: 32)
    static let routeToken = RecordRouteToken(secret: routeSecret)

    init(
        authMode: AuthMode = .none, defaultPolicy: DefaultAuthorizationPolicy = .allow, store: InMemoryHeraldStore = InMemoryHeraldStore(),
        trustedHosts: [String] = [], routes: StaticRouteTable = StaticRouteTable(), proxyInviteTimeout: Duration = .seconds(181),
        authorizationWait: Duration? = EngineConfiguration.defaultAuthorizationWait,
        maxWaitingPerWatcher: Int = EngineConfiguration.defaultMaxWaitingPerWatcher,
        sentBy: [SIPTransportKind: String] = [.udp: "127.0.0.1:5060"]
    ) {
        self.store = store
        // The engine reads the loop's virtual clock, so timers fire exactly when due.
        let loop = self.loop
        self.engine = SIPEngine(
            configuration: EngineConfiguration(
                domains: ["example.com"], listenAddresses: ["127.0.0.1"], authMode: authMode, defaultPolicy: defaultPolicy,
                authorizationWait: authorizationWait, maxWaitingPerWatcher: maxWaitingPerWatcher,
                sentBy: sentBy, trustedHosts: trustedHosts, routes: routes, proxyInviteTimeout: proxyInviteTimeout,
                routeSecret: Self.routeSecret),
            loop: self.loop, sink: self.sink, store: self.store, logger: Logger(label: "test"),
            now: { loop.now }, wallClock: { 1_000_000 + Int64(loop.now.uptimeNanoseconds / 1_000_000_000) })
    }

    func send(_ text: String, transport: SIPTransportKind = .udp, from source: SocketAddress = Self.client) async {
        self.engine.receive(InboundPacket(bytes: Array(text.utf8), transport: transport, source: source, connection: nil, local: nil))
        await self.settle()
    }

    /// Runs queued work, including store calls that complete on other threads.
    func settle() async {
        for _ in 0..<20 {
            await self.loop.run()
            try? await Task.sleep(for: .milliseconds(2))
        }
        await self.loop.run()
    }

    func advance(by amount: TimeAmount) async {
        await self.loop.advanceTime(by: amount)
        await self.settle()
    }

    func transactionCount() async throws -> Int {
        try await self.loop.submit { self.engine.activeTransactionCount }.get()
    }

    /// Requests Herald sent (NOTIFYs), parsed.
    var requests: [SIPRequest] {
        self.sink.sent.compactMap { sent in
            guard case .request(let request)? = try? SIPMessageParser.parse(sent.bytes) else { return nil }
            return request
        }
    }

    /// Answers a request Herald sent, as the watcher would.
    func answer(_ request: SIPRequest, status: Int) async {
        let response = SIPResponse(answering: request, statusCode: status, toTag: nil)
        await self.send(String(decoding: SIPSerializer.serialize(response), as: UTF8.self))
    }

    /// Answers every request Herald sent from index `start` on with 200, including those sent
    /// while answering (a NOTIFY that waited for the one in flight), until none is left.
    func answerAll(from start: Int = 0) async {
        var next = start
        while next < self.requests.count {
            await self.answer(self.requests[next], status: 200)
            next += 1
        }
    }

    var statuses: [Int] { self.sink.responses.map(\.statusCode) }
}

func request(
    _ method: String, _ uri: String, branch: String = "z9hG4bKb1", cseq: Int = 1, toTag: String? = nil,
    callID: String = "call-1", extra: [String] = [], body: String = ""
) -> String {
    var text = "\(method) \(uri) SIP/2.0\r\n"
    text += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=\(branch);rport\r\n"
    text += "From: <sip:alice@example.com>;tag=a1\r\n"
    text += "To: <sip:bob@example.com>\(toTag.map { ";tag=\($0)" } ?? "")\r\n"
    text += "Call-ID: \(callID)\r\nCSeq: \(cseq) \(method)\r\nMax-Forwards: 70\r\n"
    for line in extra { text += line + "\r\n" }
    return text + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
}
