import SIPCore
import Testing
@testable import SIPProtocol

@Suite struct RegistrarRulesTests {
    let identity = ServerIdentity(domains: ["example.com"], addresses: [])
    let policy = ExpiryPolicy(minExpires: 60, maxExpires: 7200, defaultExpires: 3600)

    func decide(
        _ headers: [String], cseq: Int = 1, callID: String = "reg-1", existing: [RegistrarBinding] = [], now: Int64 = 1000
    ) throws -> RegistrarDecision {
        let request = try makeRequest(
            "REGISTER sip:example.com SIP/2.0",
            [
                "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKreg\(cseq)", "From: <sip:alice@example.com>;tag=r1",
                "To: <sip:alice@example.com>", "Call-ID: \(callID)", "CSeq: \(cseq) REGISTER",
            ] + headers)
        return RegistrarRules.process(
            essentials: try request.validate(), contacts: try request.contacts(), expiresHeader: request.expires, existing: existing,
            now: now, policy: self.policy, identity: self.identity)
    }

    func bindings(_ decision: RegistrarDecision) -> [RegistrarBinding] {
        if case .update(_, let bindings) = decision { return bindings }
        return []
    }

    @Test func newContactsAreBoundWithContactExpiresBeforeHeaderExpires() throws {
        let decision = try self.decide(["Contact: <sip:alice@192.0.2.10>;expires=120, <sip:alice@192.0.2.11>;q=0.5", "Expires: 600"])
        let bound = self.bindings(decision)
        #expect(bound.map(\.expiresAt) == [1120, 1600])
        #expect(bound[1].qValue == 0.5)
        #expect(bound[0].responseContact(now: 1000) == "<sip:alice@192.0.2.10>;expires=120")
        guard case .update(let aor, _) = decision else { return }
        #expect(aor == "sip:alice@example.com")
    }

    @Test func featureTagsAndInstanceAreKept() throws {
        let contact = "<sip:alice@192.0.2.10;transport=tcp>;+sip.instance=\"<urn:uuid:0001>\";reg-id=1;+g.oma.sip-im;video"
        let bound = self.bindings(try self.decide(["Contact: \(contact)"]))
        #expect(bound[0].contact.description == contact)
    }

    @Test func tooBriefIntervalIs423WithMinExpires() throws {
        #expect(try self.decide(["Contact: <sip:alice@192.0.2.10>", "Expires: 30"])
            == .reject(status: 423, headers: [HeaderPair("Min-Expires", "60")]))
    }

    @Test func overlongIntervalIsShortenedToTheMaximum() throws {
        #expect(self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>", "Expires: 99999999999"]))[0].expiresAt == 1000 + 7200)
    }

    @Test func sameCallIDNeedsAHigherCSeq() throws {
        let existing = self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>"], cseq: 5))
        guard case .reject(let status, _, _) = try self.decide(["Contact: <sip:alice@192.0.2.10>"], cseq: 5, existing: existing) else {
            Issue.record("out-of-order REGISTER accepted")
            return
        }
        #expect(status == 500)
        #expect(self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>"], cseq: 6, existing: existing)).count == 1)
        // Another Call-ID (a rebooted phone) may use any CSeq.
        #expect(self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>"], cseq: 1, callID: "reg-2", existing: existing)).count == 1)
    }

    @Test func expiresZeroRemovesOneBindingAndWildcardRemovesAll() throws {
        let existing = self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>, <sip:alice@192.0.2.11>"]))
        #expect(self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>;expires=0"], cseq: 2, existing: existing)).count == 1)
        #expect(try self.decide(["Contact: *", "Expires: 0"], cseq: 2, existing: existing) == .update(addressOfRecord: "sip:alice@example.com", bindings: []))
        guard case .reject(400, _, _) = try self.decide(["Contact: *"], cseq: 2, existing: existing) else {
            Issue.record("Contact * without Expires: 0 accepted")
            return
        }
    }

    @Test func queryListsBindingsAndExpiredOnesAreDropped() throws {
        let existing = self.bindings(try self.decide(["Contact: <sip:alice@192.0.2.10>;expires=100"]))
        #expect(self.bindings(try self.decide([], cseq: 2, existing: existing, now: 1050)).count == 1)
        #expect(self.bindings(try self.decide([], cseq: 2, existing: existing, now: 1100)).isEmpty)
    }

    @Test func addressOfRecordOutsideTheDomainIs404() throws {
        let request = try makeRequest(
            "REGISTER sip:example.com SIP/2.0",
            ["Via: SIP/2.0/UDP h;branch=z9hG4bK1", "From: <sip:a@example.com>;tag=1", "To: isbn:2983792873", "Call-ID: c", "CSeq: 1 REGISTER"])
        guard case .reject(404, _, _) = RegistrarRules.process(
            essentials: try request.validate(), contacts: try request.contacts(), expiresHeader: nil, existing: [], now: 0,
            policy: self.policy, identity: self.identity)
        else {
            Issue.record("non-SIP address-of-record accepted")
            return
        }
    }
}
