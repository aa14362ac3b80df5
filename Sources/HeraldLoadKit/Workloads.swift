import Dispatch
import SIPCore

/// Header lines shared by every load request.
func requestText(
    method: String, uri: String, transport: LoadTransport, branch: String, from: String, fromTag: String, to: String,
    callID: String, cseq: Int, headers: [String], authorization: String?, body: String = "", contentType: String? = nil
) -> [UInt8] {
    var text = "\(method) \(uri) SIP/2.0\r\nVia: SIP/2.0/\(transport.kind.viaToken) \(transport.sentBy);rport;branch=\(branch)\r\n"
    text += "Max-Forwards: 70\r\nFrom: <\(from)>;tag=\(fromTag)\r\nTo: <\(to)>\r\nCall-ID: \(callID)\r\nCSeq: \(cseq) \(method)\r\n"
    for line in headers { text += line + "\r\n" }
    if let authorization { text += authorization + "\r\n" }
    if let contentType { text += "Content-Type: \(contentType)\r\n" }
    text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    return Array(text.utf8)
}

/// A contact URI for the transport (`;transport=tcp` over TCP, so the server reuses the flow).
func contact(_ user: String, _ transport: LoadTransport) -> String {
    "<sip:\(user)@\(transport.sentBy)\(transport.kind == .tcp ? ";transport=tcp" : "")>"
}

/// `register`: N users refresh their registration in turn (RFC 3261 §10.2), one REGISTER in
/// flight per user, CSeq increasing per user's Call-ID.
public final class RegisterWorkload: LoadWorkload, @unchecked Sendable {
    public let name = "register"
    let users: Int
    let domain: String
    let expires: Int
    let run = UInt32.random(in: 0...UInt32.max)
    var cseq: [Int: Int] = [:]
    var inFlight = Set<Int>()

    public init(users: Int, domain: String, expires: Int = 3600) {
        self.users = max(1, users)
        self.domain = domain
        self.expires = expires
    }

    public static func userName(_ index: Int) -> String { "load-u\(index)" }

    public func makeRequest(_ index: Int, transport: LoadTransport) -> LoadRequest? {
        let user = index % self.users
        guard self.inFlight.insert(user).inserted else { return nil }
        let name = Self.userName(user)
        let aor = "sip:\(name)@\(self.domain)"
        let cseq = (self.cseq[user] ?? 0) + 1
        self.cseq[user] = cseq
        let callID = "reg-\(user)-\(self.run)"
        let headers = ["Contact: \(contact(name, transport))", "Expires: \(self.expires)"]
        let domain = self.domain
        return LoadRequest(method: "REGISTER", requestURI: "sip:\(domain)", user: name, key: user, cseq: cseq) { branch, cseq, authorization in
            requestText(
                method: "REGISTER", uri: "sip:\(domain)", transport: transport, branch: branch, from: aor, fromTag: "r\(user)", to: aor,
                callID: callID, cseq: cseq, headers: headers, authorization: authorization)
        }
    }

    public func completed(_ request: LoadRequest, response: SIPResponse?, now: UInt64) {
        self.inFlight.remove(request.key)
        self.cseq[request.key] = max(self.cseq[request.key] ?? 0, request.cseq)
    }
}

/// `publish`: N presentities; each one's first PUBLISH creates its state, later ones refresh
/// it (no body, RFC 3903 §4.2) or modify it, by `modifyRatio`. One in flight per presentity,
/// since the next needs the entity-tag of the last; a 412 starts the presentity afresh.
public final class PublishWorkload: LoadWorkload, @unchecked Sendable {
    public let name = "publish"
    let presentities: Int
    let domain: String
    let modifyRatio: Double
    let expires: Int
    var entityTags: [Int: String] = [:]
    var inFlight = Set<Int>()
    var counter = 0
    public private(set) var initial = 0, refreshes = 0, modifies = 0

    public init(presentities: Int, domain: String, modifyRatio: Double = 0.5, expires: Int = 3600) {
        self.presentities = max(1, presentities)
        self.domain = domain
        self.modifyRatio = min(1, max(0, modifyRatio))
        self.expires = expires
    }

    public static func presentityName(_ index: Int) -> String { "load-p\(index)" }

    public static func pidf(entity: String, note: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"\(entity)\">"
            + "<tuple id=\"t1\"><status><basic>open</basic></status><note>\(note)</note></tuple></presence>"
    }

    public func makeRequest(_ index: Int, transport: LoadTransport) -> LoadRequest? {
        let presentity = index % self.presentities
        guard self.inFlight.insert(presentity).inserted else { return nil }
        self.counter += 1
        let name = Self.presentityName(presentity)
        let uri = "sip:\(name)@\(self.domain)"
        var lines = ["Event: presence", "Expires: \(self.expires)"]
        var body = ""
        if let tag = self.entityTags[presentity] {
            lines.append("SIP-If-Match: \(tag)")
            // Spread modifies evenly: every 1/ratio-th request for a presentity with state.
            if self.modifyRatio > 0, Double(self.counter).truncatingRemainder(dividingBy: 1 / self.modifyRatio) < 1 {
                body = Self.pidf(entity: uri, note: "n\(self.counter)")
                self.modifies += 1
            } else {
                self.refreshes += 1
            }
        } else {
            body = Self.pidf(entity: uri, note: "n\(self.counter)")
            self.initial += 1
        }
        let callID = "pub-\(presentity)-\(self.counter)"
        let content = body
        let headers = lines
        return LoadRequest(method: "PUBLISH", requestURI: uri, user: name, key: presentity, cseq: 1) { branch, cseq, authorization in
            requestText(
                method: "PUBLISH", uri: uri, transport: transport, branch: branch, from: uri, fromTag: "p\(presentity)", to: uri,
                callID: callID, cseq: cseq, headers: headers, authorization: authorization, body: content,
                contentType: content.isEmpty ? nil : "application/pidf+xml")
        }
    }

    public func completed(_ request: LoadRequest, response: SIPResponse?, now: UInt64) {
        self.inFlight.remove(request.key)
        guard let response else { return }
        if response.statusCode == 200, let tag = response.headers[SIPHeaderName("SIP-ETag")] {
            self.entityTags[request.key] = tag
        } else if response.statusCode == 412 {
            self.entityTags[request.key] = nil
        }
    }

    public var extraFigures: [String: Double] {
        ["publish_initial": Double(self.initial), "publish_refresh": Double(self.refreshes), "publish_modify": Double(self.modifies)]
    }
}

/// `subscribe`: N watchers each open one presence subscription (spread over P presentities)
/// and hold it, answering every NOTIFY. Measures SUBSCRIBE→200 (the driver) and
/// SUBSCRIBE→first NOTIFY (here).
public final class SubscribeWorkload: LoadWorkload, @unchecked Sendable {
    public let name = "subscribe"
    let subscriptions: Int
    let presentities: Int
    let domain: String
    let expires: Int
    let run = UInt32.random(in: 0...UInt32.max)
    var sentAt: [String: UInt64] = [:]
    public private(set) var firstNotify = LatencyHistogram()
    public private(set) var notifies = 0
    public private(set) var active = Set<String>()

    public init(subscriptions: Int, presentities: Int, domain: String, expires: Int = 600) {
        self.subscriptions = max(1, subscriptions)
        self.presentities = max(1, presentities)
        self.domain = domain
        self.expires = expires
    }

    public func makeRequest(_ index: Int, transport: LoadTransport) -> LoadRequest? {
        guard index < self.subscriptions else { return nil }
        let presentity = index % self.presentities
        let target = "sip:\(PublishWorkload.presentityName(presentity))@\(self.domain)"
        let watcher = "load-w\(index)"
        let from = "sip:\(watcher)@\(self.domain)"
        let callID = "sub-\(index)-\(self.run)"
        self.sentAt[callID] = DispatchTime.now().uptimeNanoseconds
        let headers = ["Event: presence", "Expires: \(self.expires)", "Contact: \(contact(watcher, transport))", "Accept: application/pidf+xml"]
        return LoadRequest(method: "SUBSCRIBE", requestURI: target, user: watcher, key: index, cseq: 1) { branch, cseq, authorization in
            requestText(
                method: "SUBSCRIBE", uri: target, transport: transport, branch: branch, from: from, fromTag: "w\(index)", to: target,
                callID: callID, cseq: cseq, headers: headers, authorization: authorization)
        }
    }

    public func completed(_ request: LoadRequest, response: SIPResponse?, now: UInt64) {}

    public func notified(_ request: SIPRequest, now: UInt64) {
        self.notifies += 1
        guard let callID = request.callID else { return }
        if let sent = self.sentAt.removeValue(forKey: callID) {
            self.firstNotify.record(microseconds: Int64(clamping: (now &- sent) / 1000))
        }
        let state = request.headers[SIPHeaderName(.subscriptionState)]?.lowercased() ?? ""
        if state.hasPrefix("terminated") { self.active.remove(callID) } else { self.active.insert(callID) }
    }

    public var extraFigures: [String: Double] {
        var out: [String: Double] = ["notifies": Double(self.notifies), "subscriptions_held": Double(self.active.count)]
        for (name, fraction) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            if let value = self.firstNotify.percentile(fraction) { out["first_notify_\(name)_ms"] = Double(value) / 1000 }
        }
        return out
    }
}
