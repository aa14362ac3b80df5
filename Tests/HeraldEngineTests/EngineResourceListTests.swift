import Foundation
@testable import HeraldEngine
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import SIPTesting
import Testing

/// The resource list server (RFC 4662): alice's service `sip:alice@example.com;pres-list=rcs`
/// (rls-services, RFC 4826 §4) points at her resource-lists list "rcs" with bob, carol, herself
/// and dave in another domain. bob's rules allow alice; carol has none (the default policy,
/// confirm, keeps alice pending).
@Suite struct EngineResourceListTests {
    static let service = "sip:alice@example.com;pres-list=rcs"

    static func document(_ text: String) throws -> XMLElement { try XMLDocumentParser.parse(text) }

    static func lists(_ entries: [String]) throws -> XMLElement {
        try Self.document(
            "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"rcs\"><display-name>My buddies</display-name>"
                + entries.map { "<entry uri=\"\($0)\"/>" }.joined() + "</list></resource-lists>")
    }

    static let services = """
        <rls-services xmlns="urn:ietf:params:xml:ns:rls-services"><service uri="sip:alice@Example.com;pres-list=rcs">\
        <resource-list>http://xcap.example.com/resource-lists/users/sip:alice@example.com/index/~~/resource-lists/list%5B@name=%22rcs%22%5D</resource-list>\
        <packages><package>presence</package></packages></service></rls-services>
        """

    static func allow(_ watcher: String) throws -> XMLElement {
        try Self.document(
            "<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\" xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\">"
                + "<cr:rule id=\"a\"><cr:conditions><cr:identity><cr:one id=\"\(watcher)\"/></cr:identity></cr:conditions>"
                + "<cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services>"
                + "<pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons></cr:transformations></cr:rule></cr:ruleset>")
    }

    static let members = ["sip:bob@example.com", "sip:carol@example.com", "sip:alice@example.com", "sip:dave@elsewhere.org"]

    /// Writes a document to the store and tells the engine, as the XCAP server does.
    static func put(_ harness: EngineHarness, _ auid: String, _ owner: String, _ document: XMLElement?) async throws {
        let current = await harness.store.xcapDocument(auid: auid, owner: owner, path: "index")
        let record = document.map {
            XCAPDocumentRecord(
                auid: auid, owner: owner, path: "index", contentType: "application/xml", body: Array(XMLSerializer.serialize($0).utf8),
                etag: "e\(Int.random(in: 0..<1_000_000))", modifiedAt: 0)
        }
        try await harness.store.replaceXCAPDocument(auid: auid, owner: owner, path: "index", expectedETag: current?.etag, with: record)
        harness.engine.xcapDocumentChanged(auid: auid, owner: owner, path: "index")
        await harness.settle()
    }

    /// A server with user accounts (alice, bob, carol; requests come from a trusted host) and
    /// alice's documents in its store. `restoring`: the documents are there already.
    static func harness(
        store: InMemoryHeraldStore = InMemoryHeraldStore(), services: String = Self.services, restoring: Bool = false,
        defaultPolicy: DefaultAuthorizationPolicy = .confirm, members: [String] = Self.members,
        sentBy: [SIPTransportKind: String] = [.udp: "127.0.0.1:5060"]
    ) async throws -> EngineHarness {
        let harness = EngineHarness(
            authMode: .digest, defaultPolicy: defaultPolicy, store: store, trustedHosts: ["192.0.2.10"], sentBy: sentBy)
        guard !restoring else { return harness }
        for user in ["alice", "bob", "carol"] {
            try await store.addUser(UserRecord(username: user, domain: "example.com", ha1MD5: "", ha1SHA256: ""))
        }
        try await Self.put(harness, "resource-lists", "sip:alice@example.com", try Self.lists(members))
        try await Self.put(harness, "rls-services", "sip:alice@example.com", try Self.document(services))
        try await Self.put(harness, "pres-rules", "sip:bob@example.com", try Self.allow("sip:alice@example.com"))
        return harness
    }

    /// Member key -> list subscription ids, read on the engine's loop.
    static func memberIndex(_ harness: EngineHarness) async throws -> [String: Set<String>] {
        try await harness.loop.submit { harness.engine.listSubscriptionsByMember }.get()
    }

    static func winfoSubscribe(_ user: String) -> String {
        request("SUBSCRIBE", "sip:\(user)@example.com", branch: "z9hG4bKw-\(user)", callID: "winfo-\(user)", extra: [
            "Event: presence.winfo", "Contact: <sip:\(user)@192.0.2.10:5060>", "Expires: 600",
        ]).replacingOccurrences(of: "From: <sip:alice@example.com>", with: "From: <sip:\(user)@example.com>")
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:\(user)@example.com>")
    }

    static func lastWinfo(_ harness: EngineHarness, of user: String) -> String? {
        harness.requests.last { $0.headers["Event"] == "presence.winfo" && $0.headers["Call-ID"] == "winfo-\(user)" }
            .map { String(decoding: $0.body, as: UTF8.self) }
    }

    static func listSubscribe(
        from watcher: String = "alice", supported: Bool = true, expires: Int = 600, branch: String = "z9hG4bKl1", toTag: String? = nil,
        cseq: Int = 1, extra: [String] = []
    ) -> String {
        var headers = ["Event: presence", "Contact: <sip:\(watcher)@192.0.2.10:5060>", "Expires: \(expires)"] + extra
        if supported { headers.append("Supported: eventlist") }
        return request("SUBSCRIBE", Self.service, branch: branch, cseq: cseq, toTag: toTag, callID: "list-1", extra: headers)
            .replacingOccurrences(of: "From: <sip:alice@example.com>;tag=a1", with: "From: \"Alice\" <sip:\(watcher)@example.com>;tag=w-\(watcher)")
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <\(Self.service)>")
    }

    static func publish(_ user: String, _ tuple: String, _ basic: String, branch: String) -> String {
        let body = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:\(user)@example.com\"><tuple id=\"\(tuple)\"><status><basic>\(basic)</basic></status></tuple></presence>"
        return request(
            "PUBLISH", "sip:\(user)@example.com", branch: branch, callID: "pub-\(branch)",
            extra: ["Event: presence", "Expires: 600", "Content-Type: application/pidf+xml"], body: body
        ).replacingOccurrences(of: "From: <sip:alice@example.com>", with: "From: <sip:\(user)@example.com>")
            .replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:\(user)@example.com>")
    }

    /// A list NOTIFY read back: its RLMI document and its other parts by Content-ID.
    struct ListNotify {
        let request: SIPRequest
        let rlmi: String
        let parts: [String: String]

        init(_ request: SIPRequest) throws {
            self.request = request
            let type = try MediaType(parsing: try #require(request.headers["Content-Type"]))
            let body = try MultipartBody(parsing: request.body[...], contentType: type)
            let start = try #require(type.parameters.first { $0.name == "start" }?.value).trimmingCharacters(in: CharacterSet(charactersIn: "\"<>"))
            var parts: [String: String] = [:]
            for part in body.parts {
                let id = try #require(part.headers["Content-ID"]).trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
                parts[id] = String(decoding: part.body, as: UTF8.self)
            }
            let rlmi = parts.removeValue(forKey: start)
            self.rlmi = try #require(rlmi)
            self.parts = parts
        }

        /// The state part the RLMI names for `uri`'s instance, if any.
        func part(for uri: String) -> String? {
            guard let resource = self.rlmi.range(of: "<resource uri=\"\(uri)\""),
                let cid = self.rlmi[resource.upperBound...].range(of: "cid=\"")
            else { return nil }
            let rest = self.rlmi[cid.upperBound...]
            let id = String(rest[..<rest.firstIndex(of: "\"")!])
            guard !self.rlmi[resource.upperBound..<cid.lowerBound].contains("</resource>") else { return nil }
            return self.parts[id]
        }
    }

    func listNotifies(_ harness: EngineHarness) throws -> [ListNotify] {
        try harness.requests.filter { $0.method == .notify && $0.headers["Require"] == "eventlist" }.map(ListNotify.init)
    }

    @Test func theOwnerGetsTheListWithEachMembersStateAsHerRulesAllow() async throws {
        let harness = try await Self.harness()
        await harness.send(Self.publish("bob", "b1", "open", branch: "z9hG4bKpb"))
        await harness.send(Self.listSubscribe())
        let answer = try #require(harness.sink.responses.last)
        #expect(answer.statusCode == 200)
        #expect(answer.headers["Require"] == "eventlist")
        let first = try #require(try self.listNotifies(harness).first)
        #expect(first.request.headers["Event"] == "presence")
        #expect(try first.request.from().uri.description == Self.service)
        #expect(first.request.headers["Content-Type"]?.hasPrefix("multipart/related;type=\"application/rlmi+xml\";start=\"<") == true)
        #expect(first.rlmi.contains("uri=\"sip:alice@Example.com;pres-list=rcs\" version=\"0\" fullState=\"true\""))
        #expect(first.rlmi.contains("<name>My buddies</name>"))
        // bob allows alice: active, with his published state.
        #expect(first.part(for: "sip:bob@example.com")?.contains("<basic>open</basic>") == true)
        #expect(first.part(for: "sip:bob@example.com")?.contains("entity=\"sip:bob@example.com\"") == true)
        // carol has no rules: the default policy keeps alice waiting for her.
        #expect(first.rlmi.contains(#"<resource uri="sip:carol@example.com"><instance id=""#))
        #expect(first.part(for: "sip:carol@example.com") == nil)
        #expect(first.rlmi.range(of: #"carol@example.com"><instance id="[^"]+" state="pending"/>"#, options: .regularExpression) != nil)
        // Her own presence is hers to see; another domain's member stays pending.
        #expect(first.part(for: "sip:alice@example.com") != nil)
        #expect(first.rlmi.range(of: #"dave@elsewhere.org"><instance id="[^"]+" state="pending"/>"#, options: .regularExpression) != nil)
        #expect(first.parts.count == 2)
    }

    @Test func aMembersChangeIsSentAsPartialStateAndApprovalActivatesHerInstance() async throws {
        let harness = try await Self.harness()
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        await harness.send(Self.publish("bob", "b1", "closed", branch: "z9hG4bKpb2"))
        await harness.answerAll()
        var notifies = try self.listNotifies(harness)
        try #require(notifies.count == 2)
        let partial = notifies[1]
        #expect(partial.rlmi.contains("version=\"1\" fullState=\"false\""))
        #expect(partial.part(for: "sip:bob@example.com")?.contains("<basic>closed</basic>") == true)
        #expect(!partial.rlmi.contains("carol"))
        // CSeq rises in the list's dialog.
        #expect(try partial.request.cseq().sequenceNumber == notifies[0].request.cseq().sequenceNumber + 1)
        // carol's presence changing sends nothing while alice is pending for her.
        await harness.send(Self.publish("carol", "c1", "open", branch: "z9hG4bKpc"))
        await harness.answerAll()
        #expect(try self.listNotifies(harness).count == 2)
        // carol approves alice: her instance becomes active with her state.
        try await Self.put(harness, "pres-rules", "sip:carol@example.com", try Self.allow("sip:alice@example.com"))
        await harness.answerAll()
        notifies = try self.listNotifies(harness)
        let approved = try #require(notifies.last)
        #expect(approved.rlmi.contains("version=\"2\" fullState=\"false\""))
        #expect(approved.part(for: "sip:carol@example.com")?.contains("<basic>open</basic>") == true)
        #expect(!approved.rlmi.contains("bob"))
    }

    @Test func aPartialNotifyThatFailsIsFollowedByFullState() async throws {
        let harness = try await Self.harness()
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        await harness.send(Self.publish("bob", "b1", "closed", branch: "z9hG4bKpf"))
        let partial = try #require(try self.listNotifies(harness).last)
        #expect(partial.rlmi.contains("fullState=\"false\""))
        // The watcher cannot take it now: the retry must not leave out what it said.
        let busy = SIPResponse(answering: partial.request, statusCode: 503, toTag: nil, headers: [("Retry-After", "1")])
        await harness.send(String(decoding: SIPSerializer.serialize(busy), as: UTF8.self))
        // alice's own state changes before the retry leaves.
        await harness.send(Self.publish("alice", "a1", "open", branch: "z9hG4bKpa"))
        await harness.advance(by: .seconds(2))
        await harness.answerAll(from: harness.requests.count - 1)
        let retry = try #require(try self.listNotifies(harness).last)
        #expect(retry.request.headers["CSeq"] != partial.request.headers["CSeq"])
        #expect(retry.rlmi.contains("fullState=\"true\""))
        #expect(retry.part(for: "sip:bob@example.com")?.contains("<basic>closed</basic>") == true)
        #expect(retry.part(for: "sip:alice@example.com")?.contains("<basic>open</basic>") == true)
    }

    /// 300 members, all letting alice see them: the full state is larger than any datagram.
    static func subscribedToAHugeList(sentBy: [SIPTransportKind: String]) async throws -> (EngineHarness, RecordingSink.Sent) {
        let members = (0..<300).map { "sip:member\($0)@example.com" }
        let harness = try await Self.harness(defaultPolicy: .allow, members: members + ["sip:bob@example.com"], sentBy: sentBy)
        await harness.send(Self.listSubscribe())
        let full = try #require(harness.sink.sent.last { $0.text.hasPrefix("NOTIFY ") })
        #expect(full.bytes.count > 65_000)
        return (harness, full)
    }

    @Test func aNotifyTooLargeForADatagramGoesOverTCP() async throws {
        let (harness, full) = try await Self.subscribedToAHugeList(sentBy: [.udp: "127.0.0.1:5060", .tcp: "127.0.0.1:5062"])
        // Over TCP, to the address the SUBSCRIBE came from, Via saying so (RFC 3261 §18.1.1).
        #expect(full.destination.transport == .tcp)
        #expect(full.destination.address == EngineHarness.client)
        #expect(full.text.contains("\r\nVia: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK"))
        // (The dialog stays what it was: its Contact is still the UDP one.)
        #expect(full.text.contains("\r\nContact: <sip:127.0.0.1:5060>\r\n"))
        // A reliable transport: no retransmission while the answer is awaited.
        await harness.advance(by: .seconds(2))
        #expect(harness.sink.sent.count { $0.text.hasPrefix("NOTIFY ") } == 1)
        // (Larger than the test parser takes: answered from its header lines.)
        let head = full.text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n").filter { line in
            ["Via:", "From:", "To:", "Call-ID:", "CSeq:"].contains { line.hasPrefix($0) }
        }
        await harness.send("SIP/2.0 200 OK\r\n" + head.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n")
        // A small partial one goes the usual way.
        await harness.send(Self.publish("bob", "b1", "open", branch: "z9hG4bKpt"))
        let partial = try #require(harness.sink.sent.last { $0.text.hasPrefix("NOTIFY ") })
        #expect(partial.bytes.count < 65_000 && partial.destination.transport == .udp)
        #expect(partial.text.contains("\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch="))
    }

    @Test func withoutATCPListenerATooLargeNotifyHasNoWayToGo() async throws {
        // No Via could name a TCP address to answer to: it is tried on UDP (and fails there).
        let (_, full) = try await Self.subscribedToAHugeList(sentBy: [.udp: "127.0.0.1:5060"])
        #expect(full.destination.transport == .udp)
        #expect(!full.text.contains("SIP/2.0/TCP"))
    }

    @Test func aPolitelyBlockingMembersRuleChangesTellTheOwnerNothing() async throws {
        let harness = try await Self.harness()
        let politeBlock = { (provide: String) in
            try Self.document(
                "<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\" xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\">"
                    + "<cr:rule id=\"a\"><cr:conditions><cr:identity><cr:one id=\"sip:alice@example.com\"/></cr:identity></cr:conditions>"
                    + "<cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions><cr:transformations>\(provide)"
                    + "</cr:transformations></cr:rule></cr:ruleset>")
        }
        try await Self.put(harness, "pres-rules", "sip:bob@example.com", try politeBlock("<pr:provide-services><pr:all-services/></pr:provide-services>"))
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        let before = try self.listNotifies(harness).count
        #expect(try self.listNotifies(harness).last?.part(for: "sip:bob@example.com")?.contains("<tuple") == true)
        // bob's rules for alice change what they would provide, still politely blocking her;
        // and he publishes: she hears of neither (RFC 5025 §3.2.1).
        try await Self.put(harness, "pres-rules", "sip:bob@example.com", try politeBlock("<pr:provide-persons><pr:all-persons/></pr:provide-persons>"))
        await harness.send(Self.publish("bob", "b1", "open", branch: "z9hG4bKpp"))
        await harness.answerAll()
        #expect(try self.listNotifies(harness).count == before)
    }

    @Test func theBackEndSubscriptionsShowInTheMembersWatcherInformation() async throws {
        let harness = try await Self.harness()
        // carol watches her own watchers.
        await harness.send(Self.winfoSubscribe("carol"))
        await harness.answerAll()
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        func lastWinfo() -> String? { Self.lastWinfo(harness, of: "carol") }
        // alice, through her list, waits for carol like any watcher (RFC 3857).
        var winfo = try #require(lastWinfo())
        #expect(winfo.contains("status=\"pending\""))
        #expect(winfo.contains("display-name=\"Alice\" event=\"subscribe\""))
        #expect(winfo.contains(">sip:alice@example.com</watcher>"))
        try await Self.put(harness, "pres-rules", "sip:carol@example.com", try Self.allow("sip:alice@example.com"))
        await harness.answerAll()
        winfo = try #require(lastWinfo())
        #expect(winfo.contains("status=\"active\"") && winfo.contains("event=\"approved\""))
        // carol leaves the list: the back-end subscription ends for her.
        let winfoCount = harness.requests.count { $0.headers["Call-ID"] == "winfo-carol" }
        try await Self.put(harness, "resource-lists", "sip:alice@example.com", try Self.lists(["sip:bob@example.com"]))
        await harness.answerAll()
        winfo = try #require(lastWinfo())
        #expect(winfo.contains("status=\"terminated\"") && winfo.contains("event=\"timeout\""))
        #expect(harness.requests.count { $0.headers["Call-ID"] == "winfo-carol" } == winfoCount + 1)
        #expect(try await Self.memberIndex(harness)["sip:carol@example.com"] == nil)
        let full = try #require(try self.listNotifies(harness).last)
        #expect(full.rlmi.contains("fullState=\"true\""))
        #expect(!full.rlmi.contains("carol") && full.rlmi.contains("sip:bob@example.com"))
    }

    @Test func onlyTheOwnerWithTheExtensionGetsTheList() async throws {
        let harness = try await Self.harness()
        // Without `Supported: eventlist` the subscriber could not read the list (RFC 4662 §4.1).
        await harness.send(Self.listSubscribe(supported: false))
        #expect(harness.statuses == [421])
        #expect(harness.sink.responses.last?.headers["Require"] == "eventlist")
        // The list shows what its members let alice see: nobody else may subscribe to it.
        await harness.send(Self.listSubscribe(from: "bob", branch: "z9hG4bKl2"))
        #expect(harness.statuses.last == 403)
        // An Accept without multipart/related cannot carry the list.
        await harness.send(Self.listSubscribe(branch: "z9hG4bKl3", extra: ["Accept: application/pidf+xml"]))
        #expect(harness.statuses.last == 406)
        #expect(harness.sink.responses.last?.headers["Accept"]?.contains("multipart/related") == true)
        #expect(harness.requests.isEmpty)
        // alice's plain address is not her list, even with the extension.
        await harness.send(
            request("SUBSCRIBE", "sip:alice@example.com", branch: "z9hG4bKc1", callID: "c-1", extra: [
                "Event: presence", "Contact: <sip:alice@192.0.2.10:5060>", "Supported: eventlist",
            ]).replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:alice@example.com>"))
        #expect(harness.statuses.last == 200)
        #expect(harness.sink.responses.last?.headers["Require"] == nil)
        #expect(harness.requests.last?.headers["Content-Type"] == "application/pidf+xml")
        // A transport parameter does not make a list address another one.
        await harness.send(Self.listSubscribe(from: "bob", branch: "z9hG4bKl4").replacingOccurrences(of: "pres-list=rcs", with: "pres-list=rcs;transport=tcp"))
        #expect(harness.statuses.last == 403)
    }

    @Test func nobodyTakesAnotherUsersAddressWithAService() async throws {
        let harness = try await Self.harness()
        // bob defines a service at alice's list address, and one at carol's plain address.
        // (XCAP refuses both; a store filled by other means must not let them work either.)
        try await Self.put(harness, "rls-services", "sip:bob@example.com", try Self.document(
            "<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\"><service uri=\"sip:alice@example.com;pres-list=bob\"><list name=\"x\"/></service>"
                + "<service uri=\"sip:carol@example.com\"><list name=\"y\"/></service></rls-services>"))
        // alice's own address with bob's parameter is no service: alice gets her own presence.
        await harness.send(Self.listSubscribe(branch: "z9hG4bKs1").replacingOccurrences(of: "pres-list=rcs", with: "pres-list=bob"))
        #expect(harness.statuses.last == 200)
        #expect(harness.sink.responses.last?.headers["Require"] == nil)
        #expect(harness.requests.last?.headers["Content-Type"] == "application/pidf+xml")
        // Anyone but bob subscribing to carol's address gets carol's presence, eventlist or not
        // (bob himself would get his list: he asked for it).
        await harness.send(
            request("SUBSCRIBE", "sip:carol@example.com", branch: "z9hG4bKs2", callID: "carol-1", extra: [
                "Event: presence", "Contact: <sip:alice@192.0.2.10:5060>", "Supported: eventlist",
            ]).replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:carol@example.com>"))
        #expect(harness.statuses.last == 200)
        #expect(harness.sink.responses.last?.headers["Require"] == nil)
        #expect(harness.requests.last?.headers["Subscription-State"]?.hasPrefix("pending") == true)
    }

    @Test func refreshSendsFullStateAndUnsubscribingEndsTheBackEnds() async throws {
        let harness = try await Self.harness()
        await harness.send(Self.winfoSubscribe("bob"))
        await harness.answerAll()
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        #expect(Self.lastWinfo(harness, of: "bob")?.contains("status=\"active\" id=") == true)
        let winfoCount = harness.requests.count { $0.headers["Call-ID"] == "winfo-bob" }
        let tag = try #require(try harness.sink.responses.last?.to().tag)
        await harness.send(Self.listSubscribe(branch: "z9hG4bKr1", toTag: tag, cseq: 2))
        #expect(harness.statuses.last == 200)
        await harness.answerAll()
        let refreshed = try #require(try self.listNotifies(harness).last)
        #expect(refreshed.rlmi.contains("version=\"1\" fullState=\"true\""))
        // A refresh changes no back-end subscription: the members' winfo hears nothing.
        #expect(harness.requests.count { $0.headers["Call-ID"] == "winfo-bob" } == winfoCount)
        await harness.send(Self.listSubscribe(expires: 0, branch: "z9hG4bKr2", toTag: tag, cseq: 3))
        await harness.answerAll()
        #expect(harness.requests.last { $0.headers["Require"] == "eventlist" }?.headers["Subscription-State"]?.hasPrefix("terminated") == true)
        let winfo = try #require(Self.lastWinfo(harness, of: "bob"))
        #expect(winfo.contains("status=\"terminated\"") && winfo.contains("event=\"timeout\""))
        #expect(try await Self.memberIndex(harness).isEmpty)
        try await Task.sleep(for: .milliseconds(50))
        await harness.settle()
        #expect(await harness.store.allSubscriptions().allSatisfy { $0.event != "presence-list" })
        // No list holds bob any more: his presence goes nowhere.
        let before = harness.requests.count
        await harness.send(Self.publish("bob", "b1", "open", branch: "z9hG4bKpb3"))
        #expect(harness.requests.count == before)
    }

    @Test func aListSubscriptionContinuesAfterARestart() async throws {
        let store = InMemoryHeraldStore()
        let first = try await Self.harness(store: store)
        await first.send(Self.listSubscribe(expires: 3600))
        await first.answerAll()
        try await Task.sleep(for: .milliseconds(50))
        let record = try #require(await store.allSubscriptions().first)
        #expect(record.event == "presence-list")
        let firstInstance = try #require(try self.listNotifies(first).first).rlmi
        // A new engine on the same store: the documents come from the store too.
        let second = try await Self.harness(store: store, restoring: true)
        let restored = try await second.loop.flatSubmit { second.engine.restore() }.get()
        #expect(restored.subscriptions == 1)
        await second.settle()
        #expect(try await Self.memberIndex(second)["sip:bob@example.com"]?.count == 1)
        // bob's winfo lists alice's back-end subscription after the restart.
        await second.send(Self.winfoSubscribe("bob"))
        await second.answerAll()
        #expect(Self.lastWinfo(second, of: "bob")?.contains(">sip:alice@example.com</watcher>") == true)
        await second.send(Self.publish("bob", "b1", "open", branch: "z9hG4bKpb4"))
        await second.answerAll()
        let notify = try #require(try self.listNotifies(second).last)
        // After a restart the state is sent in full, above every version sent before, with
        // instance ids never used before.
        #expect(notify.rlmi.range(of: #"version="1[0-9][0-9]" fullState="true""#, options: .regularExpression) != nil)
        #expect(notify.part(for: "sip:bob@example.com")?.contains("<basic>open</basic>") == true)
        #expect(try notify.request.cseq().sequenceNumber > 100)
        let instanceID = #/instance id="([^"]+)"/#
        let before = Set(firstInstance.matches(of: instanceID).map { String($0.1) })
        let after = Set(notify.rlmi.matches(of: instanceID).map { String($0.1) })
        #expect(!after.isEmpty && before.isDisjoint(with: after))
    }

    @Test func aListAtAPlainAddressLivesThroughRefreshesAndRestartsWithUserAccounts() async throws {
        // `sip:friends@example.com` names no user: only the service makes it exist.
        let plain = Self.services.replacingOccurrences(of: "sip:alice@Example.com;pres-list=rcs", with: "sip:friends@example.com")
        let store = InMemoryHeraldStore()
        let harness = try await Self.harness(store: store, services: plain)
        let subscribe = { (branch: String, toTag: String?, cseq: Int) in
            Self.listSubscribe(expires: 3600, branch: branch, toTag: toTag, cseq: cseq)
                .replacingOccurrences(of: Self.service, with: "sip:friends@example.com")
        }
        await harness.send(subscribe("z9hG4bKf1", nil, 1))
        #expect(harness.statuses.last == 200)
        await harness.answerAll()
        let tag = try #require(try harness.sink.responses.last?.to().tag)
        await harness.send(subscribe("z9hG4bKf2", tag, 2))
        await harness.answerAll()
        #expect(harness.statuses.last == 200)
        #expect(harness.requests.last?.headers["Subscription-State"]?.hasPrefix("active") == true)
        try await Task.sleep(for: .milliseconds(50))
        let second = try await Self.harness(store: store, restoring: true)
        let restored = try await second.loop.flatSubmit { second.engine.restore() }.get()
        #expect(restored.subscriptions == 1)
        // Without `Supported: eventlist`, a plain list address that is no user's: 421.
        await second.send(
            subscribe("z9hG4bKf3", nil, 1).replacingOccurrences(of: "Supported: eventlist\r\n", with: "").replacingOccurrences(of: "list-1", with: "list-2"))
        #expect(second.statuses.last == 421)
    }

    @Test func aServiceThatIsRemovedEndsItsSubscriptions() async throws {
        let harness = try await Self.harness()
        await harness.send(Self.listSubscribe())
        await harness.answerAll()
        try await Self.put(harness, "rls-services", "sip:alice@example.com", nil)
        await harness.answerAll()
        #expect(harness.requests.last?.headers["Subscription-State"] == "terminated;reason=noresource")
    }
}
