import Foundation
import Testing
@testable import PresenceDocuments

/// Seed 001: the pres-rules document an RCS client PUTs to org.openmobilealliance.pres-rules.
private let seed001PresRules = """
    <?xml version="1.0" encoding="UTF-8"?> <cr:ruleset xmlns:ocp="urn:oma:xml:xdm:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy"> <cr:rule id="wp_prs_allow_own"> <cr:conditions> <cr:identity><cr:one id="sip:+339012341234@Test-rcs.com"/></cr:identity> </cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-persons><pr:all-persons/></pr:provide-persons> <pr:provide-devices><pr:all-devices/></pr:provide-devices> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="rcs_allow_services_anonymous"> <cr:conditions><ocp:anonymous-request/></cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="wp_prs_unlisted"> <cr:conditions><ocp:other-identity/></cr:conditions> <cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions> </cr:rule> <cr:rule id="wp_prs_grantedcontacts"> <cr:conditions> <ocp:external-list> <ocp:entry anc="http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"/> </ocp:external-list> </cr:conditions> <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions> <cr:transformations> <pr:provide-services><pr:all-services/></pr:provide-services> <pr:provide-persons><pr:all-persons/></pr:provide-persons> <pr:provide-devices><pr:all-devices/></pr:provide-devices> <pr:provide-all-attributes/> </cr:transformations> </cr:rule> <cr:rule id="wp_prs_blockedcontacts"> <cr:conditions> <ocp:external-list> <ocp:entry anc="http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D"/> </ocp:external-list> </cr:conditions> <cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions> </cr:rule> </cr:ruleset>
    """

/// Seed 001: the client's PUBLISH body (five service tuples).
private let seed001Publication = """
    <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:opd="urn:oma:xml:pde:pidf:ext" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="urn:opengis:specification:gml:schema-xsd:feature:v3.0" entity="sip:+339012341234@test-rcs.com"> <tuple id="t1"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.openmobilealliance:File-Transfer</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> <timestamp>2014-06-19T06:30:45.000Z</timestamp> </tuple> <tuple id="t2"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.gsma.imageshare</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> <timestamp>2014-06-19T06:30:45.000Z</timestamp> </tuple> <tuple id="t3"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.gsma.videoshare</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> <timestamp>2014-06-19T06:30:45.000Z</timestamp> </tuple> <tuple id="t4"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.openmobilealliance:IM-session</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> <timestamp>2014-06-19T06:30:45.000Z</timestamp> </tuple> <tuple id="t5"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.3gpp.cs-videotelephony</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> <timestamp>2014-06-19T06:30:45.000Z</timestamp> </tuple> </presence>
    """

/// Seed 001: the client's permanent presence (pidf-manipulation), one person.
private let seed001PermanentPresence = """
    <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:opd="urn:oma:xml:pde:pidf:ext" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:+339012341234@Test-rcs.com"> <pdm:person id="p1"> <op:overriding-willingness> <op:basic>open</op:basic> </op:overriding-willingness> <ci:homepage></ci:homepage> <rpid:status-icon opd:etag="1403159871372" opd:fsize="2193" opd:contenttype="image/jpeg" opd:resolution="96x96">http://192.168.1.2:8080/org.openmobilealliance.pres-content/users/sip%3A%2B339012341234%40Test-rcs.com/oma_status-icon/rcs_status_icon</rpid:status-icon> <pdm:note></pdm:note> <pdm:timestamp>2014-06-19T06:37:51.000Z</pdm:timestamp> </pdm:person> </presence>
    """

private let seed001Owner = "sip:+339012341234@test-rcs.com"
private let seed001GrantedAnchor = "http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"
private let seed001BlockedAnchor = "http://192.168.1.2:8080/resource-lists/users/sip:+339012341234@Test-rcs.com/index/~~/resource-lists/list%5B@name=%22oma_blockedcontacts%22%5D"

/// The lists as seed 001 leaves them: the owner and one buddy (with `;user=phone`, as the client
/// PUT it) granted, one contact blocked.
private func seed001Lists(_ anchor: String) -> Set<String>? {
    switch anchor {
    case seed001GrantedAnchor: ["sip:+339012341234@Test-rcs.com", "sip:+330123456789@anritsu-rcs.com;user=phone"]
    case seed001BlockedAnchor: ["sip:+332222222222@test-rcs.com"]
    default: nil
    }
}

private func ruleset(_ body: String) throws -> PresenceRules {
    try PresenceRules(parsing: Array("""
        <cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:ocp="urn:oma:xml:xdm:common-policy">\(body)</cr:ruleset>
        """.utf8))
}

private func authenticated(_ uri: String) -> WatcherIdentity { WatcherIdentity(uri: uri, authenticated: true) }

private func decide(_ rules: PresenceRules, _ watcher: WatcherIdentity, now: Date = Date(timeIntervalSince1970: 1_403_191_848),
              sphere: String? = nil) -> AuthorizationDecision {
    PresenceAuthorization.evaluate(rules: rules, watcher: watcher, now: now, sphere: sphere, resolveList: { _ in nil })
}

@Suite struct PresRulesParsingTests {
    @Test func seed001DocumentParsesIntoItsFiveRules() throws {
        let parsed = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        #expect(parsed.rules.map(\.id) == [
            "wp_prs_allow_own", "rcs_allow_services_anonymous", "wp_prs_unlisted", "wp_prs_grantedcontacts",
            "wp_prs_blockedcontacts",
        ])
        #expect(parsed.rules.map(\.subHandling) == [.allow, .allow, .confirm, .allow, .block])
        #expect(parsed.rules[0].conditions == [.identity(IdentityCondition(ones: ["sip:+339012341234@Test-rcs.com"]))])
        #expect(parsed.rules[1].conditions == [.anonymousRequest])
        #expect(parsed.rules[2].conditions == [.otherIdentity])
        #expect(parsed.rules[3].conditions == [.externalList([seed001GrantedAnchor])])
        #expect(parsed.rules[4].conditions == [.externalList([seed001BlockedAnchor])])
        #expect(parsed.rules[0].transformations == .everything)
        #expect(parsed.rules[1].transformations == PresenceTransformations(services: ServicePermission(allServices: true), allAttributes: true))
        #expect(parsed.rules[2].transformations == .nothing)
    }

    @Test func everyTransformationOfRFC5025IsRead() throws {
        let parsed = try ruleset("""
            <cr:rule id="r"><cr:transformations>
              <pr:provide-services><pr:service-uri>sip:alice@pc.example.com</pr:service-uri><pr:service-uri-scheme>MAILTO</pr:service-uri-scheme><pr:occurrence-id>t9</pr:occurrence-id><pr:class>work</pr:class></pr:provide-services>
              <pr:provide-persons><pr:occurrence-id>p1</pr:occurrence-id><pr:class>home</pr:class></pr:provide-persons>
              <pr:provide-devices><pr:deviceID>urn:uuid:d1</pr:deviceID><pr:occurrence-id>d9</pr:occurrence-id><pr:class>car</pr:class></pr:provide-devices>
              <pr:provide-activities>true</pr:provide-activities><pr:provide-class>1</pr:provide-class>
              <pr:provide-deviceID>true</pr:provide-deviceID><pr:provide-mood>true</pr:provide-mood>
              <pr:provide-place-is>true</pr:provide-place-is><pr:provide-place-type>true</pr:provide-place-type>
              <pr:provide-privacy>true</pr:provide-privacy><pr:provide-relationship>true</pr:provide-relationship>
              <pr:provide-status-icon>true</pr:provide-status-icon><pr:provide-sphere>true</pr:provide-sphere>
              <pr:provide-time-offset> true </pr:provide-time-offset><pr:provide-user-input>thresholds</pr:provide-user-input>
              <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:cipid" name="homepage">true</pr:provide-unknown-attribute>
              <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:cipid" name="card">false</pr:provide-unknown-attribute>
              <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:rpid" name="mood">true</pr:provide-unknown-attribute>
              <pr:provide-future-thing>true</pr:provide-future-thing>
            </cr:transformations></cr:rule>
            """)
        let transformations = try #require(parsed.rules.first).transformations
        #expect(transformations.services == ServicePermission(
            serviceURIs: ["sip:alice@pc.example.com"], serviceURISchemes: ["mailto"], occurrenceIDs: ["t9"], classes: ["work"]))
        #expect(transformations.persons == PersonPermission(occurrenceIDs: ["p1"], classes: ["home"]))
        #expect(transformations.devices == DevicePermission(deviceIDs: ["urn:uuid:d1"], occurrenceIDs: ["d9"], classes: ["car"]))
        #expect(transformations.attributes == Set(PresenceAttribute.allCases))
        #expect(transformations.userInput == .thresholds)
        // Only attributes RFC 5025 does not name can be granted as unknown ones.
        #expect(transformations.unknownAttributes == [XMLName(PresenceNamespace.cipid, "homepage")])
        #expect(!transformations.allAttributes)
    }

    @Test func subHandlingValuesAreOrderedAsRFC5025Says() {
        #expect(SubHandling.allCases.sorted() == [.block, .confirm, .politeBlock, .allow])
        #expect(SubHandling.allCases.map(\.rawValue) == [0, 10, 20, 30])
        #expect(SubHandling.allCases.map(\.token) == ["block", "confirm", "polite-block", "allow"])
        #expect(SubHandling(token: " polite-block ") == .politeBlock)
        #expect(SubHandling(token: "maybe") == nil)
    }

    @Test(arguments: [
        "<ruleset xmlns=\"urn:other\"/>",
        "<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"><cr:rule>",
        "<!DOCTYPE x><x/>",
    ])
    func documentsThatAreNotRulesetsAreRejected(_ text: String) {
        #expect(throws: PresenceDocumentError.self) { try PresenceRules(parsing: Array(text.utf8)) }
    }

    @Test func malformedPartsAreIgnoredNotFatal() throws {
        let parsed = try ruleset("""
            <cr:rule><cr:conditions><cr:identity><cr:one/><cr:many><cr:except/></cr:many></cr:identity>
              <cr:validity><cr:from>yesterday</cr:from><cr:until>2003-09-15T10:20:00Z</cr:until><cr:until>2003-09-15T10:20:00Z</cr:until></cr:validity>
              <ocp:external-list><ocp:entry/></ocp:external-list></cr:conditions>
              <cr:actions><pr:sub-handling>sometimes</pr:sub-handling></cr:actions>
              <cr:transformations><pr:provide-user-input>lots</pr:provide-user-input><pr:provide-mood>yes</pr:provide-mood></cr:transformations></cr:rule>
            """)
        let rule = try #require(parsed.rules.first)
        #expect(rule.id == "")
        #expect(rule.conditions == [.identity(IdentityCondition(manys: [ManyIdentities()])), .validity([]), .externalList([])])
        #expect(rule.subHandling == nil)
        #expect(rule.transformations == .nothing)
    }
}

@Suite struct PresRulesDateTimeTests {
    @Test(arguments: [
        ("2003-08-15T10:20:00.000-05:00", 1_060_960_800.0),
        ("2003-08-15T15:20:00Z", 1_060_960_800.0),
        (" 2003-08-15T15:20:00 ", 1_060_960_800.0),
        ("2003-08-16T00:50:00+09:30", 1_060_960_800.0),
        ("2000-02-29T00:00:00Z", 951_782_400.0),
        ("2000-02-28T24:00:00Z", 951_782_400.0),
        ("2014-06-19T15:30:48.25Z", 1_403_191_848.25),
    ])
    func xsDateTimeValuesAreRead(_ text: String, _ seconds: Double) {
        #expect(XMLDateTime.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: [
        "", "2003-08-15", "2003-08-15T10:20", "2003-13-01T00:00:00Z", "2001-02-29T00:00:00Z", "2003-08-15T10:60:00Z",
        "2003-08-15T24:00:01Z", "2003-08-15T10:20:00+15:00", "2003-08-15T10:20:00.Z", "2003-08-15T10:20:00Zjunk",
        "２００３-08-15T10:20:00Z",
    ])
    func invalidDateTimesAreRefused(_ text: String) {
        #expect(XMLDateTime.parse(text) == nil)
    }
}

@Suite struct PolicyURITests {
    @Test(arguments: [
        ("sip:alice@example.com", "SIP:alice@EXAMPLE.com", true),
        ("sip:alice@example.com", "sip:Alice@example.com", false),
        ("sip:%2B339012341234@test-rcs.com", "sip:+339012341234@Test-rcs.com", true),
        ("sip:+330123456789@anritsu-rcs.com;user=phone", "sip:+330123456789@anritsu-rcs.com", true),
        ("sip:alice:secret@example.com", "sip:alice@example.com", true),
        ("sip:alice@example.com", "sips:alice@example.com", false),
        ("sip:alice@example.com:5070", "sip:alice@example.com", false),
        ("tel:+1-212-555-1234", "tel:+1-212-555-1234", true),
        ("TEL:+1-212-555-1234", "tel:+1-212-555-1234", true),
        ("tel:+1-212-555-1234", "tel:+12125551234", false),
        ("not a uri", "not a uri", true),
        ("sip:", "sip:", true),
    ])
    func identitiesCompareAsAddressesOfRecord(_ lhs: String, _ rhs: String, _ same: Bool) {
        #expect(PolicyURI.sameIdentity(lhs, rhs) == same)
        #expect(PolicyURI.sameIdentity(rhs, lhs) == same)
    }

    @Test func domainsCompareWithoutCaseOrPort() {
        #expect(PolicyURI.isInDomain("sip:carol@Example.COM:5060", domain: "example.com"))
        #expect(!PolicyURI.isInDomain("sip:carol@sub.example.com", domain: "example.com"))
        #expect(!PolicyURI.isInDomain("tel:+12125551234", domain: "example.com"))
        #expect(PolicyURI("sip:bob@[2001:db8::1]:5060")?.domain == "[2001:db8::1]")
    }
}

@Suite struct PresenceAuthorizationTests {
    // MARK: RFC 4745 §7.1 identity

    @Test func oneMatchesOnlyThatAuthenticatedIdentity() throws {
        let policy = try ruleset("""
            <cr:rule id="a"><cr:conditions><cr:identity><cr:one id="sip:alice@example.com"/><cr:one id="tel:+1-212-555-1234"/></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        #expect(decide(policy, authenticated("sip:alice@EXAMPLE.com")).subHandling == .allow)
        #expect(decide(policy, authenticated("tel:+1-212-555-1234")).subHandling == .allow)
        #expect(decide(policy, authenticated("sip:bob@example.com")).subHandling == nil)
        // RFC 4745 §7.1: identities must be authenticated to match.
        #expect(decide(policy, WatcherIdentity(uri: "sip:alice@example.com", authenticated: false)).subHandling == nil)
    }

    @Test func manyWithDomainMatchesThatDomainExceptTheListedUsers() throws {
        let policy = try ruleset("""
            <cr:rule id="b"><cr:conditions><cr:identity><cr:many domain="example.com"><cr:except id="sip:alice@example.com"/><cr:except id="sip:bob@example.com"/></cr:many></cr:identity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        #expect(decide(policy, authenticated("sip:carol@example.com")).subHandling == .allow)
        #expect(decide(policy, authenticated("sip:alice@example.com")).subHandling == nil)
        #expect(decide(policy, authenticated("sip:bob@example.com")).subHandling == nil)
        #expect(decide(policy, authenticated("sip:carol@example.org")).subHandling == nil)
    }

    @Test func manyWithoutDomainMatchesEveryAuthenticatedIdentityExceptTheListed() throws {
        let policy = try ruleset("""
            <cr:rule id="c"><cr:conditions><cr:identity><cr:many>
              <cr:except domain="example.com"/><cr:except domain="example.org"/>
              <cr:except id="sip:alice@bad.example.net"/><cr:except id="tel:+1-212-555-1234"/>
            </cr:many></cr:identity></cr:conditions><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>
            """)
        #expect(decide(policy, authenticated("sip:dave@example.net")).subHandling == .confirm)
        #expect(decide(policy, authenticated("tel:+1-212-555-9999")).subHandling == .confirm)
        #expect(decide(policy, authenticated("sip:carol@EXAMPLE.com")).subHandling == nil)
        #expect(decide(policy, authenticated("sip:eve@example.org")).subHandling == nil)
        #expect(decide(policy, authenticated("sip:alice@bad.example.net")).subHandling == nil)
        #expect(decide(policy, authenticated("tel:+1-212-555-1234")).subHandling == nil)
        #expect(decide(policy, .anonymous).subHandling == nil)
        #expect(decide(policy, authenticated("sip:anonymous@anonymous.invalid")).subHandling == nil)
    }

    // MARK: RFC 4745 §7 conditions

    @Test func ruleWithoutConditionsAppliesToEveryone() throws {
        let policy = try ruleset("""
            <cr:rule id="open"><cr:conditions/><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule><cr:rule id="bare"/>
            """)
        let decision = decide(policy, .anonymous)
        #expect(decision.subHandling == .politeBlock)
        #expect(decision.matchedRuleIDs == ["open", "bare"])
    }

    @Test func unknownConditionMakesTheRuleInapplicable() throws {
        let policy = try ruleset("""
            <cr:rule id="x" xmlns:v="urn:vendor"><cr:conditions><v:full-moon/></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        #expect(policy.rules.first?.conditions == [.unknown(XMLName("urn:vendor", "full-moon"))])
        let decision = decide(policy, authenticated("sip:alice@example.com"))
        #expect(decision.subHandling == nil)
        #expect(decision.matchedRuleIDs.isEmpty)
        #expect(decision.transformations == .nothing)
    }

    @Test func validityWindowBoundsTheRule() throws {
        // RFC 4745 §7.3's example interval, plus a second one.
        let policy = try ruleset("""
            <cr:rule id="v"><cr:conditions><cr:validity>
              <cr:from>2003-08-15T10:20:00.000-05:00</cr:from><cr:until>2003-09-15T10:20:00.000-05:00</cr:until>
              <cr:from>2014-06-19T00:00:00Z</cr:from><cr:until>2014-06-20T00:00:00Z</cr:until>
            </cr:validity></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        let watcher = authenticated("sip:alice@example.com")
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_060_960_799)).subHandling == nil)
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_060_960_800)).subHandling == .allow)
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_062_000_000)).subHandling == .allow)
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_063_639_200)).subHandling == .allow)
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_063_639_201)).subHandling == nil)
        #expect(decide(policy, watcher, now: Date(timeIntervalSince1970: 1_403_191_848)).subHandling == .allow)
    }

    @Test func sphereConditionNeedsTheCurrentSphere() throws {
        let policy = try ruleset("""
            <cr:rule id="s"><cr:conditions><cr:sphere value="work  meeting"/></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        let watcher = authenticated("sip:alice@example.com")
        #expect(decide(policy, watcher, sphere: "work").subHandling == .allow)
        #expect(decide(policy, watcher, sphere: "home").subHandling == nil)
        #expect(decide(policy, watcher, sphere: nil).subHandling == nil)
        let pidf = try XMLDocumentParser.parse("""
            <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:bob@example.com"><dm:person id="p"><r:sphere><r:work/></r:sphere></dm:person></presence>
            """)
        #expect(PresenceAuthorization.currentSphere(of: pidf) == "work")
    }

    // MARK: RFC 4745 §10.2 combining

    @Test func matchingRulesCombineToTheLargestSubHandlingAndTheUnionOfTransformations() throws {
        let policy = try ruleset("""
            <cr:rule id="coworkers"><cr:conditions><cr:identity><cr:many domain="example.com"/></cr:identity></cr:conditions>
              <cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions>
              <cr:transformations><pr:provide-services><pr:service-uri-scheme>sip</pr:service-uri-scheme></pr:provide-services>
                <pr:provide-activities>true</pr:provide-activities><pr:provide-user-input>full</pr:provide-user-input></cr:transformations></cr:rule>
            <cr:rule id="friend"><cr:conditions><cr:identity><cr:one id="sip:alice@example.com"/></cr:identity></cr:conditions>
              <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions>
              <cr:transformations><pr:provide-services><pr:service-uri-scheme>mailto</pr:service-uri-scheme></pr:provide-services>
                <pr:provide-persons><pr:all-persons/></pr:provide-persons><pr:provide-mood>true</pr:provide-mood>
                <pr:provide-activities>false</pr:provide-activities><pr:provide-user-input>bare</pr:provide-user-input></cr:transformations></cr:rule>
            <cr:rule id="nobody"><cr:conditions><cr:identity><cr:one id="sip:mallory@example.com"/></cr:identity></cr:conditions>
              <cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>
            """)
        let alice = decide(policy, authenticated("sip:alice@example.com"))
        #expect(alice.matchedRuleIDs == ["coworkers", "friend"])
        #expect(alice.subHandling == .allow)
        #expect(alice.transformations == PresenceTransformations(
            services: ServicePermission(serviceURISchemes: ["sip", "mailto"]), persons: PersonPermission(allPersons: true),
            attributes: [.activities, .mood], userInput: .full))
        let carol = decide(policy, authenticated("sip:carol@example.com"))
        #expect(carol.subHandling == .confirm)
        #expect(carol.transformations.persons.grantsNothing)
        let mallory = decide(policy, authenticated("sip:mallory@example.com"))
        #expect(mallory.subHandling == .confirm)
    }

    @Test func combiningTakesTheMaximumNotTheLastRule() throws {
        let policy = try ruleset("""
            <cr:rule id="a"><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            <cr:rule id="b"><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule>
            <cr:rule id="c"><cr:actions><pr:sub-handling>block</pr:sub-handling></cr:actions></cr:rule>
            """)
        #expect(decide(policy, authenticated("sip:x@example.com")).subHandling == .allow)
    }

    // MARK: Seed 001 (OMA external-list, anonymous-request, other-identity)

    @Test func seed001OwnerIsAllowedEverything() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated(seed001Owner), now: Date(), resolveList: seed001Lists)
        #expect(decision.subHandling == .allow)
        #expect(decision.matchedRuleIDs == ["wp_prs_allow_own", "wp_prs_grantedcontacts"])
        #expect(decision.transformations == .everything)
    }

    @Test func seed001WatcherOnTheGrantedListIsAllowed() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:+330123456789@anritsu-rcs.com"), now: Date(), resolveList: seed001Lists)
        #expect(decision.subHandling == .allow)
        #expect(decision.matchedRuleIDs == ["wp_prs_grantedcontacts"])
        #expect(decision.transformations == .everything)
    }

    @Test func seed001UnknownWatcherGetsTheOtherIdentityRule() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:+331111111111@test-rcs.com"), now: Date(), resolveList: seed001Lists)
        #expect(decision.subHandling == .confirm)
        #expect(decision.matchedRuleIDs == ["wp_prs_unlisted"])
        #expect(decision.transformations == .nothing)
    }

    @Test func seed001BlockedWatcherIsBlockedNotCaughtByOtherIdentity() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:+332222222222@Test-rcs.com"), now: Date(), resolveList: seed001Lists)
        #expect(decision.subHandling == .block)
        #expect(decision.matchedRuleIDs == ["wp_prs_blockedcontacts"])
    }

    @Test(arguments: [
        WatcherIdentity.anonymous,
        WatcherIdentity(uri: "sip:anonymous@anonymous.invalid", authenticated: true),
        WatcherIdentity(uri: "sip:+331111111111@test-rcs.com", authenticated: false),
    ])
    func seed001AnonymousWatcherSeesServicesOnly(_ watcher: WatcherIdentity) throws {
        // The seed's client replaced OMA's default "block anonymous" rule with
        // rcs_allow_services_anonymous: capabilities (services) for everybody.
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(rules: policy, watcher: watcher, now: Date(), resolveList: seed001Lists)
        #expect(decision.subHandling == .allow)
        #expect(decision.matchedRuleIDs == ["rcs_allow_services_anonymous"])
        #expect(decision.transformations == PresenceTransformations(services: ServicePermission(allServices: true), allAttributes: true))
    }

    @Test func seed001ListsThatCannotBeResolvedMatchNobody() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        var lookups: [String] = []
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:+330123456789@anritsu-rcs.com"), now: Date(),
            resolveList: { anchor in
                lookups.append(anchor)
                return nil
            })
        #expect(decision.subHandling == .confirm)
        #expect(decision.matchedRuleIDs == ["wp_prs_unlisted"])
        #expect(lookups == [seed001GrantedAnchor, seed001BlockedAnchor])
    }

    @Test func eachListIsResolvedOnce() throws {
        let policy = try ruleset("""
            <cr:rule id="a"><cr:conditions><ocp:external-list><ocp:entry anc="L"/></ocp:external-list></cr:conditions><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>
            <cr:rule id="b"><cr:conditions><ocp:external-list><ocp:entry anc="M"/><ocp:entry anc="L"/></ocp:external-list></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            """)
        var lookups: [String] = []
        let decision = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:bob@example.com"), now: Date(),
            resolveList: { anchor in
                lookups.append(anchor)
                return anchor == "L" ? ["sip:bob@example.com"] : []
            })
        #expect(decision.subHandling == .allow)
        #expect(lookups == ["L", "M"])
    }

    @Test func otherIdentityIgnoresRulesThatDoNotApplyInFull() throws {
        // An expired grant no longer identifies the watcher: they are "other" again.
        let policy = try ruleset("""
            <cr:rule id="expired"><cr:conditions><cr:identity><cr:one id="sip:bob@example.com"/></cr:identity>
              <cr:validity><cr:from>2003-08-15T10:20:00Z</cr:from><cr:until>2003-09-15T10:20:00Z</cr:until></cr:validity></cr:conditions>
              <cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
            <cr:rule id="everyone-else"><cr:conditions><ocp:other-identity/></cr:conditions><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule>
            <cr:rule id="open"><cr:actions><pr:sub-handling>confirm</pr:sub-handling></cr:actions></cr:rule>
            """)
        let decision = decide(policy, authenticated("sip:bob@example.com"))
        #expect(decision.matchedRuleIDs == ["everyone-else", "open"])
        #expect(decision.subHandling == .politeBlock)
        let inWindow = decide(policy, authenticated("sip:bob@example.com"), now: Date(timeIntervalSince1970: 1_061_000_000))
        #expect(inWindow.matchedRuleIDs == ["expired", "open"])
    }
}

@Suite struct PresenceFilterTests {
    static let document = """
        <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" entity="sip:bob@example.com">
          <tuple id="t1"><status><basic>open</basic></status><r:class>work</r:class><dm:deviceID>urn:uuid:d1</dm:deviceID><op:service-description><op:service-id>org.openmobilealliance:IM-session</op:service-id></op:service-description><contact>sip:bob@pc.example.com</contact><note>at the desk</note><timestamp>2014-06-19T06:30:45Z</timestamp></tuple>
          <tuple id="t2"><status><basic>closed</basic></status><contact>mailto:bob@example.com</contact></tuple>
          <note>presence note</note>
          <dm:person id="p1"><r:activities><r:busy/></r:activities><r:mood><r:happy/></r:mood><r:status-icon>http://example.com/i.png</r:status-icon><r:user-input idle-threshold="600" last-input="2014-06-19T06:00:00Z">idle</r:user-input><ci:homepage>http://bob.example.com</ci:homepage><dm:note>in a meeting</dm:note><dm:timestamp>2014-06-19T06:30:45Z</dm:timestamp></dm:person>
          <dm:device id="d1"><r:class>phone</r:class><dm:deviceID>urn:uuid:d1</dm:deviceID><r:user-input>active</r:user-input></dm:device>
          <dm:device id="d2"><dm:deviceID>urn:uuid:d2</dm:deviceID></dm:device>
        </presence>
        """

    static func filtered(_ transformations: PresenceTransformations) throws -> XMLElement {
        PresenceFilter.apply(transformations, to: try XMLDocumentParser.parse(Self.document))
    }

    static func ids(_ element: XMLElement) -> [String] { element.childElements.compactMap { $0.attribute("id") } }

    static func childNames(_ element: XMLElement?) -> [String] { element?.childElements.map(\.name.local) ?? [] }

    @Test func withoutTransformationsOnlyTheEntityRemains() throws {
        let result = try Self.filtered(.nothing)
        #expect(result.childElements.isEmpty)
        #expect(result.attribute("entity") == "sip:bob@example.com")
        let reparsed = try PIDFDocument(parsing: Array(XMLSerializer.serialize(result).utf8))
        #expect(reparsed.entity == "sip:bob@example.com")
    }

    @Test func allServicesKeepsTuplesWithoutTheirAttributes() throws {
        let result = try Self.filtered(PresenceTransformations(services: ServicePermission(allServices: true)))
        #expect(Self.ids(result) == ["t1", "t2"])
        #expect(Self.childNames(result.childElements.first) == ["status", "contact", "note", "timestamp"])
    }

    @Test func servicesAreChosenBySchemeOccurrenceClassOrURI() throws {
        #expect(Self.ids(try Self.filtered(PresenceTransformations(services: ServicePermission(serviceURISchemes: ["MAILTO"])))) == ["t2"])
        #expect(Self.ids(try Self.filtered(PresenceTransformations(services: ServicePermission(occurrenceIDs: ["t1"])))) == ["t1"])
        #expect(Self.ids(try Self.filtered(PresenceTransformations(services: ServicePermission(classes: ["work"])))) == ["t1"])
        #expect(Self.ids(try Self.filtered(PresenceTransformations(services: ServicePermission(serviceURIs: ["mailto:bob@example.com"])))) == ["t2"])
        #expect(Self.ids(try Self.filtered(PresenceTransformations(services: ServicePermission(serviceURIs: ["sip:bob@example.com"])))).isEmpty)
    }

    @Test func namedAttributesNeedTheirOwnPermission() throws {
        let result = try Self.filtered(PresenceTransformations(
            services: ServicePermission(occurrenceIDs: ["t1"]), persons: PersonPermission(allPersons: true),
            attributes: [.activities, .deviceID, .class]))
        #expect(Self.ids(result) == ["t1", "p1"])
        #expect(Self.childNames(result.childElements[0]) == ["status", "class", "deviceID", "contact", "note", "timestamp"])
        #expect(Self.childNames(result.childElements[1]) == ["activities", "note", "timestamp"])
    }

    @Test func unknownAttributesAreGrantedByName() throws {
        let result = try Self.filtered(PresenceTransformations(
            services: ServicePermission(occurrenceIDs: ["t1"]), persons: PersonPermission(occurrenceIDs: ["p1"]),
            unknownAttributes: [XMLName(PresenceNamespace.cipid, "homepage"), XMLName(PresenceNamespace.omaPresence, "service-description")]))
        #expect(Self.childNames(result.childElements[0]) == ["status", "service-description", "contact", "note", "timestamp"])
        #expect(Self.childNames(result.childElements[1]) == ["homepage", "note", "timestamp"])
    }

    @Test(arguments: [
        (.withheld, nil),
        (.bare, []),
        (.thresholds, ["idle-threshold"]),
        (.full, ["idle-threshold", "last-input"]),
    ] as [(UserInputPermission, [String]?)])
    func userInputIsCutToThePermittedLevel(_ level: UserInputPermission, _ attributes: [String]?) throws {
        let result = try Self.filtered(PresenceTransformations(persons: PersonPermission(allPersons: true), userInput: level))
        let person = try #require(result.childElements.first)
        let userInput = person.firstChild(named: XMLName(PresenceNamespace.rpid, "user-input"))
        #expect(userInput?.attributes.map(\.name.local).sorted() == attributes)
        if attributes != nil { #expect(userInput?.text == "idle") }
    }

    @Test func devicesAreChosenByDeviceIDOccurrenceOrClass() throws {
        #expect(Self.ids(try Self.filtered(PresenceTransformations(devices: DevicePermission(deviceIDs: ["urn:uuid:d2"])))) == ["d2"])
        #expect(Self.ids(try Self.filtered(PresenceTransformations(devices: DevicePermission(occurrenceIDs: ["d1"])))) == ["d1"])
        let byClass = try Self.filtered(PresenceTransformations(devices: DevicePermission(classes: ["phone"])))
        #expect(Self.ids(byClass) == ["d1"])
        // The device's own deviceID stays; its class is an attribute like any other.
        #expect(Self.childNames(byClass.childElements.first) == ["deviceID"])
    }

    @Test func allAttributesKeepsEverythingOfTheKeptComponents() throws {
        let result = try Self.filtered(PresenceTransformations(
            services: ServicePermission(occurrenceIDs: ["t1"]), devices: DevicePermission(allDevices: true), allAttributes: true))
        #expect(Self.ids(result) == ["t1", "d1", "d2"])
        let original = try XMLDocumentParser.parse(Self.document)
        #expect(result.childElements[0] == original.childElements[0])
        // The presence-level note is an attribute of the presentity: all attributes include it.
        #expect(result.childElements.contains { $0.name == XMLName(PresenceNamespace.pidf, "note") })
    }

    @Test func everythingGivesTheDocumentBackWithoutWhitespace() throws {
        let original = try XMLDocumentParser.parse(Self.document)
        let result = PresenceFilter.apply(.everything, to: original)
        #expect(result.childElements == original.childElements)
    }

    @Test func aRootThatIsNotPresenceGivesAnEmptyDocument() throws {
        let other = try XMLDocumentParser.parse("<x xmlns=\"urn:other\" entity=\"sip:bob@example.com\"><y/></x>")
        let result = PresenceFilter.apply(.everything, to: other)
        #expect(result.name == XMLName(PresenceNamespace.pidf, "presence"))
        #expect(result.children.isEmpty)
        #expect(result.attribute("entity") == "sip:bob@example.com")
    }

    @Test func politeBlockDocumentShowsOneClosedService() throws {
        let neutral = PresenceFilter.neutralDocument(entity: "sip:bob@example.com")
        let document = try PIDFDocument(parsing: Array(XMLSerializer.serialize(neutral).utf8))
        #expect(document.entity == "sip:bob@example.com")
        #expect(document.tuples.count == 1)
        #expect(document.persons.isEmpty && document.devices.isEmpty)
        #expect(document.tuples.first?.firstDescendant(named: XMLName(PresenceNamespace.pidf, "basic"))?.text == "closed")
    }

    @Test func seed001AnonymousWatcherSeesTheServicesButNotThePerson() throws {
        let policy = try PresenceRules(parsing: Array(seed001PresRules.utf8))
        let decision = PresenceAuthorization.evaluate(rules: policy, watcher: .anonymous, now: Date(), resolveList: seed001Lists)
        let composed = PresenceComposer.compose(entity: seed001Owner, sources: [
            .init(document: try PIDFDocument(parsing: Array(seed001PermanentPresence.utf8)), sequence: 1),
            .init(document: try PIDFDocument(parsing: Array(seed001Publication.utf8)), sequence: 2),
        ])
        let filtered = PresenceFilter.apply(decision.transformations, to: composed.element)
        let reparsed = try PIDFDocument(parsing: Array(XMLSerializer.serialize(filtered).utf8))
        #expect(reparsed.tuples.map { $0.attribute("id") } == ["t1", "t2", "t3", "t4", "t5"])
        #expect(reparsed.persons.isEmpty)
        let serviceIDs = reparsed.tuples.compactMap {
            $0.firstDescendant(named: XMLName(PresenceNamespace.omaPresence, "service-id"))?.text
        }
        #expect(serviceIDs.count == 5)

        let buddy = PresenceAuthorization.evaluate(
            rules: policy, watcher: authenticated("sip:+330123456789@anritsu-rcs.com"), now: Date(), resolveList: seed001Lists)
        let full = PresenceFilter.apply(buddy.transformations, to: composed.element)
        #expect(full.children(named: XMLName(PresenceNamespace.dataModel, "person")).count == 1)
        #expect(full.firstDescendant(named: XMLName(PresenceNamespace.rpid, "status-icon")) != nil)
    }
}
