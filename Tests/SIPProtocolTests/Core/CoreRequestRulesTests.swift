import SIPCore
import Testing
@testable import SIPProtocol

@Suite struct CoreRequestRulesTests {
    let identity = ServerIdentity(domains: ["example.com", "[2001:db8::10]"], addresses: ["127.0.0.1"])
    let capabilities = ServerCapabilities(allow: [.options, .register], accept: ["application/sdp"], supported: ["path"], allowEvents: [])

    func disposition(_ startLine: String, _ headers: [String], body: String = "") throws -> RequestDisposition {
        let request = try makeRequest(startLine, headers, body: body)
        return CoreRequestRules.disposition(
            for: request, essentials: try request.validate(), identity: self.identity, capabilities: self.capabilities)
    }

    @Test func optionsToTheServerIsAnsweredByIt() throws {
        #expect(try self.disposition("OPTIONS sip:example.com SIP/2.0", basicHeaders(method: "OPTIONS")) == .answerOptions)
        #expect(try self.disposition("OPTIONS sip:127.0.0.1:5070 SIP/2.0", basicHeaders(method: "OPTIONS")) == .answerOptions)
        #expect(try self.disposition("OPTIONS sip:[2001:db8::10] SIP/2.0", basicHeaders(method: "OPTIONS")) == .answerOptions)
    }

    @Test func unknownSchemeIs416() throws {
        #expect(try self.disposition("OPTIONS mailto:bob@example.com SIP/2.0", basicHeaders(method: "OPTIONS")) == .reject(status: 416))
    }

    @Test func unknownMethodIs501WithAllow() throws {
        #expect(
            try self.disposition("FOO sip:example.com SIP/2.0", basicHeaders(method: "FOO"))
                == .reject(status: 501, headers: [HeaderPair("Allow", "OPTIONS, REGISTER")]))
    }

    @Test func maxForwardsZeroOnlyMattersForRequestsToForward() throws {
        var headers = basicHeaders(method: "OPTIONS")
        headers[5] = "Max-Forwards: 0"
        #expect(try self.disposition("OPTIONS sip:bob@example.com SIP/2.0", headers) == .reject(status: 483))
        #expect(try self.disposition("OPTIONS sip:example.com SIP/2.0", headers) == .answerOptions)
    }

    @Test func unsupportedRequireAndProxyRequireAre420() throws {
        let required = basicHeaders(method: "OPTIONS") + ["Require: path, foo"]
        #expect(
            try self.disposition("OPTIONS sip:example.com SIP/2.0", required)
                == .reject(status: 420, headers: [HeaderPair("Unsupported", "foo")]))
        let proxyRequired = basicHeaders(method: "INVITE") + ["Proxy-Require: bar", "Require: baz"]
        #expect(
            try self.disposition("INVITE sip:bob@example.com SIP/2.0", proxyRequired)
                == .reject(status: 420, headers: [HeaderPair("Unsupported", "bar")]))
    }

    @Test func foreignDomainsAreNotRelayed() throws {
        #expect(
            try self.disposition("MESSAGE sip:bob@elsewhere.example SIP/2.0", basicHeaders(method: "MESSAGE"))
                == .reject(status: 403, reason: "Relaying Not Allowed"))
    }

    @Test func requestsForUsersAreRouted() throws {
        #expect(
            try self.disposition("INVITE sip:bob@EXAMPLE.com SIP/2.0", basicHeaders(method: "INVITE"))
                == .routeToUser(try SIPURI(parsing: "sip:bob@EXAMPLE.com")))
    }

    @Test func registerForAServedDomainGoesToTheRegistrar() throws {
        #expect(try self.disposition("REGISTER sip:example.com SIP/2.0", basicHeaders(method: "REGISTER")) == .register)
        #expect(
            try self.disposition("REGISTER sip:other.example SIP/2.0", basicHeaders(method: "REGISTER"))
                == .reject(status: 403, reason: "Relaying Not Allowed"))
    }

    @Test func dialogRequestsToTheServerAre481AndAckIsAbsorbed() throws {
        #expect(try self.disposition("BYE sip:example.com SIP/2.0", basicHeaders(method: "BYE", toTag: "x")) == .reject(status: 481))
        #expect(try self.disposition("ACK sip:example.com SIP/2.0", basicHeaders(method: "ACK", toTag: "x")) == .absorbAck)
    }

    @Test func unsupportedBodyToTheServerIs415WithAccept() throws {
        let headers = basicHeaders(method: "OPTIONS") + ["Content-Type: application/unknown"]
        #expect(
            try self.disposition("OPTIONS sip:example.com SIP/2.0", headers, body: "x")
                == .reject(status: 415, headers: [HeaderPair("Accept", "application/sdp")]))
    }
}

@Suite struct ResponseRoutingTests {
    @Test func rportAndReceivedAreStamped() throws {
        let via = try Via(parsing: "SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK1;rport")
        let stamped = try #require(ResponseRouting.stamp(via, sourceIP: "192.0.2.7", sourcePort: 40000))
        #expect(stamped.rport == 40000)
        #expect(stamped.received == "192.0.2.7")
        let target = ResponseRouting.target(for: stamped, sourceIP: "192.0.2.7", sourcePort: 40000, reliable: false)
        #expect(target == ResponseRouting.Target(host: "192.0.2.7", port: 40000, preferSameConnection: false))
    }

    @Test func receivedOnlyWhenSentByDiffersFromSource() throws {
        let same = try Via(parsing: "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK1")
        #expect(ResponseRouting.stamp(same, sourceIP: "192.0.2.7", sourcePort: 5062) == nil)
        let other = try Via(parsing: "SIP/2.0/UDP 192.0.2.9:5062;branch=z9hG4bK1")
        let stamped = try #require(ResponseRouting.stamp(other, sourceIP: "192.0.2.7", sourcePort: 5062))
        #expect(stamped.received == "192.0.2.7")
        // RFC 3261 §18.2.2: without rport, the sent-by port on the received address.
        #expect(ResponseRouting.target(for: stamped, sourceIP: "192.0.2.7", sourcePort: 1111, reliable: false).port == 5062)
    }

    @Test func streamsPreferTheRequestsConnection() throws {
        let via = try Via(parsing: "SIP/2.0/TLS client.example.com;branch=z9hG4bK1")
        let target = ResponseRouting.target(for: via, sourceIP: "192.0.2.7", sourcePort: 40000, reliable: true)
        #expect(target == ResponseRouting.Target(host: "192.0.2.7", port: 5061, preferSameConnection: true))
    }
}

@Suite struct TransactionKeyTests {
    @Test func ackAndCancelFindTheirInvite() throws {
        let invite = try makeRequest("INVITE sip:bob@example.com SIP/2.0", basicHeaders(method: "INVITE")).validate()
        let ack = try makeRequest("ACK sip:bob@example.com SIP/2.0", basicHeaders(method: "ACK", toTag: "t1")).validate()
        let cancel = try makeRequest("CANCEL sip:bob@example.com SIP/2.0", basicHeaders(method: "CANCEL")).validate()
        let inviteKey = ServerTransactionKey(essentials: invite, method: .invite)
        #expect(ServerTransactionKey.inviteKey(for: ack) == inviteKey)
        #expect(ServerTransactionKey.inviteKey(for: cancel) == inviteKey)
        #expect(ServerTransactionKey(essentials: cancel, method: .cancel) != inviteKey)
    }

    @Test func rfc2543RequestsMatchOnDialogFieldsAndIgnoreTheAcksToTag() throws {
        var headers = basicHeaders(method: "INVITE")
        headers[0] = "Via: SIP/2.0/UDP 192.0.2.10:5060"
        let invite = try makeRequest("INVITE sip:bob@example.com SIP/2.0", headers).validate()
        var ackHeaders = basicHeaders(method: "ACK", toTag: "t1")
        ackHeaders[0] = "Via: SIP/2.0/UDP 192.0.2.10:5060"
        let ack = try makeRequest("ACK sip:bob@example.com SIP/2.0", ackHeaders).validate()
        #expect(ServerTransactionKey.inviteKey(for: ack) == ServerTransactionKey(essentials: invite, method: .invite))
    }

    @Test func mergedRequestKeyOnlyOutsideDialogs() throws {
        #expect(MergedRequestKey(essentials: try makeRequest("OPTIONS sip:example.com SIP/2.0", basicHeaders(method: "OPTIONS")).validate()) != nil)
        #expect(MergedRequestKey(essentials: try makeRequest("BYE sip:example.com SIP/2.0", basicHeaders(method: "BYE", toTag: "x")).validate()) == nil)
    }
}
