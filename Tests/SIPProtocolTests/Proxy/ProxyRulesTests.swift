import SIPCore
import Testing
@testable import SIPProtocol

@Suite struct ProxyRulesTests {
    @Test func equalQFormsParallelGroupsInDecreasingQ() {
        let targets: [(String, Double?)] = [("a", 0.5), ("b", nil), ("c", 1.0), ("d", 0.5), ("e", 0.1)]
        let groups = ProxyRules.forkingGroups(targets) { $0.1 }.map { $0.map(\.0) }
        #expect(groups == [["b", "c"], ["a", "d"], ["e"]])
    }

    @Test func bestResponseFollowsSection16_7() {
        #expect(ProxyRules.bestResponseIndex([]) == nil)
        #expect(ProxyRules.bestResponseIndex([486, 404, 302]) == 2)
        #expect(ProxyRules.bestResponseIndex([486, 603, 302]) == 1)
        #expect(ProxyRules.bestResponseIndex([500, 486, 404]) == 1)
    }

    @Test func loopIsOurViaWithTheSameHash() throws {
        let hash = ProxyRules.loopHash(requestURI: "sip:a@example.com", fromTag: "f", toTag: nil, callID: "c", cseq: 1)
        #expect(hash == ProxyRules.loopHash(requestURI: "sip:a@example.com", fromTag: "f", toTag: nil, callID: "c", cseq: 1))
        #expect(hash != ProxyRules.loopHash(requestURI: "sip:b@example.com", fromTag: "f", toTag: nil, callID: "c", cseq: 1))
        let ours = try Via(parsing: "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK\(hash).x1")
        let theirs = try Via(parsing: "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK\(hash).x1")
        #expect(ProxyRules.isLoop(vias: [theirs, ours], ownSentBy: ["127.0.0.1:5060"], loopHash: hash))
        #expect(!ProxyRules.isLoop(vias: [theirs], ownSentBy: ["127.0.0.1:5060"], loopHash: hash))
        // A spiral (same proxy, different Request-URI hash) is not a loop (§16.3 step 4).
        #expect(!ProxyRules.isLoop(vias: [ours], ownSentBy: ["127.0.0.1:5060"], loopHash: "other"))
    }
}
