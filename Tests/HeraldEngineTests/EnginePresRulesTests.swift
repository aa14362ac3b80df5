import Foundation
import HeraldEngine
import HeraldStore
import NIOCore
import PresenceDocuments
import SIPCore
import Testing

/// Pres-rules conditions that change without the document changing: validity intervals
/// (RFC 4745 §7.3) and the presentity's sphere (§7.2).
@Suite struct EnginePresRulesTests {
    static func rules(_ body: String) throws -> XMLElement {
        try XMLDocumentParser.parse(
            "<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\" xmlns:pr=\"urn:ietf:params:xml:ns:pres-rules\">\(body)</cr:ruleset>")
    }

    static func allowBob(_ extra: String) -> String {
        "<cr:rule id=\"bob\"><cr:conditions><cr:identity><cr:one id=\"sip:bob@example.com\"/></cr:identity>\(extra)</cr:conditions>"
            + "<cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions><cr:transformations><pr:provide-services><pr:all-services/>"
            + "</pr:provide-services></cr:transformations></cr:rule>"
    }

    /// Answers NOTIFYs until none is outstanding (a state change may queue one more).
    func answerAll(_ harness: EngineHarness) async {
        var answered = 0
        while answered < harness.requests.count {
            let request = harness.requests[harness.requests.count - 1]
            answered = harness.requests.count
            await harness.answer(request, status: 200)
        }
    }

    func lastState(_ harness: EngineHarness) -> String? {
        harness.requests.last { $0.headers["Event"] == "presence" }?.headers["Subscription-State"]
    }

    @Test func aRuleThatBecomesValidApprovesTheWaitingWatcherOnTime() async throws {
        let harness = EngineHarness(defaultPolicy: .confirm)
        // The harness's wall clock starts at 1,000,000 s after 1970.
        let formatter = ISO8601DateFormatter()
        let from = formatter.string(from: Date(timeIntervalSince1970: 1_000_010))
        let until = formatter.string(from: Date(timeIntervalSince1970: 1_000_030))
        let document = try Self.rules(Self.allowBob("<cr:validity><cr:from>\(from)</cr:from><cr:until>\(until)</cr:until></cr:validity>"))
        harness.engine.xcapDocumentChanged(auid: "pres-rules", owner: "sip:alice@example.com", path: "index", document: document)
        await harness.settle()
        await harness.send(subscribeRequest())
        #expect(self.lastState(harness)?.hasPrefix("pending") == true)
        await harness.answer(try #require(harness.requests.last), status: 200)
        await harness.advance(by: .seconds(12))
        #expect(self.lastState(harness)?.hasPrefix("active") == true)
        await harness.answer(try #require(harness.requests.last), status: 200)
        // After the interval the rule no longer applies: back to waiting for confirmation.
        await harness.advance(by: .seconds(21))
        #expect(self.lastState(harness)?.hasPrefix("pending") == true)
    }

    /// Alice's PIDF with her RPID sphere (RFC 4480 §3.7).
    static func sphere(_ value: String) -> String {
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
            + "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:alice@example.com\"><tuple id=\"t1\"><status><basic>open</basic>"
            + "</status></tuple><dm:person id=\"p1\"><rpid:sphere>\(value)</rpid:sphere></dm:person></presence>"
    }

    /// Alice's rules allow bob while her sphere is "work"; bob has just subscribed.
    static func bobSubscribedUnderAWorkSphereRule() async throws -> EngineHarness {
        let harness = EngineHarness(defaultPolicy: .confirm)
        let document = try Self.rules(Self.allowBob("<cr:sphere value=\"work\"/>"))
        harness.engine.xcapDocumentChanged(auid: "pres-rules", owner: "sip:alice@example.com", path: "index", document: document)
        await harness.settle()
        await harness.send(subscribeRequest())
        return harness
    }

    @Test func aSphereConditionFollowsThePresentitysPublishedSphere() async throws {
        let harness = try await Self.bobSubscribedUnderAWorkSphereRule()
        #expect(self.lastState(harness)?.hasPrefix("pending") == true)
        await harness.answer(try #require(harness.requests.last), status: 200)
        await harness.send(publishRequest(Self.sphere("work"), branch: "z9hG4bKsp1"))
        #expect(self.lastState(harness)?.hasPrefix("active") == true)
        await self.answerAll(harness)
        let etag = try #require(harness.sink.responses.last { $0.headers["SIP-ETag"] != nil }?.headers["SIP-ETag"])
        await harness.send(publishRequest(Self.sphere("home"), branch: "z9hG4bKsp2", etag: etag))
        #expect(self.lastState(harness)?.hasPrefix("pending") == true)
    }

    @Test func aSphereChangeTheStoreRefusesNeverReachesTheWatchers() async throws {
        let harness = try await Self.bobSubscribedUnderAWorkSphereRule()
        await harness.answer(try #require(harness.requests.last), status: 200)
        await harness.send(publishRequest(Self.sphere("work"), branch: "z9hG4bKsp1"))
        await self.answerAll(harness)
        let etag = try #require(harness.sink.responses.last { $0.headers["SIP-ETag"] != nil }?.headers["SIP-ETag"])
        let notifies = harness.requests.count
        // A sphere change re-authorizes watchers, which an undo could not take back: it waits
        // for the store, and a refused one changes nothing for them.
        await harness.store.setRefusesPublicationWrites(true)
        await harness.send(publishRequest(Self.sphere("home"), branch: "z9hG4bKsp2", etag: etag))
        #expect(harness.statuses.last == 500)
        #expect(harness.requests.count == notifies)
        #expect(self.lastState(harness)?.hasPrefix("active") == true)
    }
}
