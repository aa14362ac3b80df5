import Testing
@testable import PresenceDocuments

let rcsPublication = """
    <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:op="urn:oma:xml:prs:pidf:oma-pres" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:+339012341234@test-rcs.com"> <tuple id="t1"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.openmobilealliance:File-Transfer</op:service-id> <op:version>1.0</op:version> </op:service-description> <contact>sip:+339012341234@test-rcs.com</contact> </tuple> <tuple id="t2"> <status><basic>open</basic></status> <op:service-description> <op:service-id>org.gsma.imageshare</op:service-id> <op:version>1.0</op:version> </op:service-description> </tuple> </presence>
    """

let personPublication = """
    <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:+339012341234@Test-rcs.com"> <pdm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities><pdm:note>in a meeting</pdm:note></pdm:person> <tuple id="t2"><status><basic>closed</basic></status></tuple> </presence>
    """

@Suite struct PIDFTests {
    @Test func publishedDocumentSplitsIntoComponents() throws {
        let document = try PIDFDocument(parsing: Array(rcsPublication.utf8))
        #expect(document.entity == "sip:+339012341234@test-rcs.com")
        #expect(document.tuples.map { $0.attribute("id") } == ["t1", "t2"])
        #expect(document.persons.isEmpty)
    }

    @Test(arguments: [
        ("<presence xmlns=\"urn:other\" entity=\"sip:a@b\"/>", "not a PIDF document"),
        ("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>", "without entity"),
        ("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple><status/></tuple></presence>", "without id"),
        ("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"x\"/></presence>", "without status"),
        ("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"x\"><status/></tuple><tuple id=\"x\"><status/></tuple></presence>", "used twice"),
        ("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"x\">", "not well-formed"),
    ])
    func invalidDocumentsAreRejectedWithAReason(_ text: String, _ reason: String) {
        #expect {
            try PIDFDocument(parsing: Array(text.utf8))
        } throws: { error in
            (error as? PresenceDocumentError)?.reason.contains(reason) == true
        }
    }

    @Test func compositionMergesByIDWithTheLatestWinning() throws {
        let first = try PIDFDocument(parsing: Array(rcsPublication.utf8))
        let second = try PIDFDocument(parsing: Array(personPublication.utf8))
        let composed = PresenceComposer.compose(
            entity: "sip:+339012341234@test-rcs.com",
            sources: [.init(document: second, sequence: 2), .init(document: first, sequence: 1)])
        #expect(composed.tuples.map { $0.attribute("id") } == ["t1", "t2"])
        let t2 = composed.tuples[1]
        #expect(t2.firstDescendant(named: XMLName(PresenceNamespace.pidf, "basic"))?.text == "closed")
        #expect(composed.persons.map { $0.attribute("id") } == ["p1"])
        // The output parses again, with every prefix declared.
        let reparsed = try PIDFDocument(parsing: composed.serialized())
        #expect(reparsed.entity == "sip:+339012341234@test-rcs.com")
        #expect(reparsed.tuples.count == 2)
        #expect(reparsed.persons[0].firstDescendant(named: XMLName(PresenceNamespace.rpid, "busy")) != nil)
        let serviceIDs = reparsed.tuples.compactMap { $0.firstDescendant(named: XMLName(PresenceNamespace.omaPresence, "service-id"))?.text }
        #expect(serviceIDs == ["org.openmobilealliance:File-Transfer"])
    }

    @Test func neutralDocumentHasOnlyTheEntity() {
        let text = String(decoding: PIDFDocument(entity: "sip:a@example.com").serialized(), as: UTF8.self)
        #expect(text.hasSuffix("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@example.com\"/>"))
    }
}

@Suite struct WatcherInfoTests {
    /// The shape of seed 000 example 3.
    @Test func documentMatchesTheSeedShape() throws {
        let document = WatcherInfoDocument.document(
            version: 1, state: .full, resource: "sip:+339012341234@anritsu-rcs.com", package: "presence",
            watchers: [.init(id: "5c7c3f58", uri: "sip:+330123456789@anritsu-rcs.com", status: .pending, event: .subscribe, displayName: "RCS-VUA")])
        let text = XMLSerializer.serialize(document)
        #expect(text.contains("<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"1\" state=\"full\">"))
        #expect(text.contains("<watcher-list resource=\"sip:+339012341234@anritsu-rcs.com\" package=\"presence\">"))
        #expect(text.contains("<watcher status=\"pending\" id=\"5c7c3f58\" display-name=\"RCS-VUA\" event=\"subscribe\">sip:+330123456789@anritsu-rcs.com</watcher>"))
        let reparsed = try XMLDocumentParser.parse(text)
        #expect(reparsed.name == XMLName(PresenceNamespace.watcherInfo, "watcherinfo"))
    }
}

@Suite struct MessageSummaryTests {
    @Test func seed004BodyParsesAndPrints() throws {
        let summary = try MessageSummary(parsing: "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n")
        #expect(summary.messagesWaiting)
        #expect(summary.messageAccount == "sip:alice@vmail.example.com")
        #expect(summary.counts.first?.counts == MessageSummary.Counts(new: 2, old: 8, urgentNew: 0, urgentOld: 2))
        #expect(summary.text == "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n")
    }

    @Test func aPIDFDocumentIsWrittenInTheCPIMFormatOfSeed003() throws {
        let pidf = try PIDFDocument(parsing: Array("""
            <presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:user2_public1@home2.net">            <tuple id="a8098a.672364762364"><status><basic>closed</basic></status><timestamp>2001-10-27T18:49:29Z</timestamp></tuple>            <tuple id="jklhgf9788934774.78"><status><basic>open</basic></status><contact priority="1.0">tel:+1-212-555-2222</contact>            <rpid:activities><rpid:away/></rpid:activities></tuple><note>Perhaps I'll be in Tokyo next week</note></presence>
            """.utf8))
        let converted = CPIMPIDF.document(from: pidf.element)
        let text = XMLSerializer.serialize(converted)
        // As seed 003 shows it: its namespace, a pres: entity, the same content.
        #expect(converted.name == XMLName("urn:ietf:params:xml:ns:cpim-pidf", "presence"))
        #expect(converted.attribute("entity") == "pres:user2_public1@home2.net")
        #expect(text.contains("xmlns=\"urn:ietf:params:xml:ns:cpim-pidf\""))
        #expect(!text.contains("urn:ietf:params:xml:ns:pidf\""))
        #expect(text.contains("<tuple id=\"jklhgf9788934774.78\"><status><basic>open</basic></status><contact priority=\"1.0\">tel:+1-212-555-2222</contact>"))
        #expect(text.contains("<note>Perhaps I'll be in Tokyo next week</note>"))
        // Extensions keep their own namespaces.
        #expect(text.contains("xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\"") && text.contains("<rpid:away/>"))
        let reparsed = try XMLDocumentParser.parse(Array(text.utf8))
        #expect(reparsed.childElements.allSatisfy { $0.name.namespace == CPIMPIDF.namespace || $0.name.namespace.hasPrefix("urn:ietf:params:xml:ns:pidf:") })
    }

    @Test func seed004PacketEightVariantIsReadAsRFC3842() throws {
        // Seed 004's Packet8 notifier: singular Message-Waiting and a Voicemail line.
        let summary = try MessageSummary(parsing: "Message-Waiting: yes\r\nVoicemail: 9/9 (0/0)\r\n")
        #expect(summary.messagesWaiting)
        #expect(summary.text == "Messages-Waiting: yes\r\nVoice-Message: 9/9 (0/0)\r\n")
        #expect(throws: PresenceDocumentError.self) { try MessageSummary(parsing: "Message-Waiting: yes\r\nVoicemail: nine\r\n") }
    }

    @Test(arguments: ["Voice-Message: 2/8\r\n", "Messages-Waiting: maybe\r\n", "Messages-Waiting: yes\r\nVoice-Message: two/8\r\n", "garbage"])
    func malformedSummariesAreRejected(_ text: String) {
        #expect(throws: PresenceDocumentError.self) { try MessageSummary(parsing: text) }
    }
}

@Suite struct RLMITests {
    @Test func listDocumentHasTheShapeOfRFC4662() throws {
        let document = RLMIDocument.document(
            uri: "sip:+339012341234@test-rcs.com;pres-list=rcs", version: 3, fullState: true, name: "My presence buddies",
            resources: [
                RLMIDocument.Resource(
                    uri: "sip:+330123456789@test-rcs.com", name: "RCS-VUA",
                    instances: [RLMIDocument.Instance(id: "a1", state: .active, contentID: "a1@herald")]),
                RLMIDocument.Resource(uri: "sip:carol@test-rcs.com", instances: [RLMIDocument.Instance(id: "c1", state: .pending)]),
                RLMIDocument.Resource(
                    uri: "sip:dave@test-rcs.com", instances: [RLMIDocument.Instance(id: "d1", state: .terminated(reason: "rejected"))]),
            ])
        // Written and read back: what a subscriber's parser sees.
        let parsed = try XMLDocumentParser.parse(XMLSerializer.serialize(document))
        #expect(parsed.name == XMLName(PresenceNamespace.rlmi, "list"))
        #expect(parsed.attribute("uri") == "sip:+339012341234@test-rcs.com;pres-list=rcs")
        #expect(parsed.attribute("version") == "3" && parsed.attribute("fullState") == "true")
        #expect(parsed.childElements.first?.name.local == "name")
        let resources = parsed.childElements.filter { $0.name.local == "resource" }
        #expect(resources.map { $0.attribute("uri") } == ["sip:+330123456789@test-rcs.com", "sip:carol@test-rcs.com", "sip:dave@test-rcs.com"])
        let instances = resources.compactMap { $0.childElements.first { $0.name.local == "instance" } }
        #expect(instances.map { $0.attribute("state") } == ["active", "pending", "terminated"])
        #expect(instances[0].attribute("cid") == "a1@herald" && instances[1].attribute("cid") == nil)
        #expect(instances[2].attribute("reason") == "rejected")
        #expect(resources[0].childElements.first?.name.local == "name")
    }
}
