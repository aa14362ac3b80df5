import PresenceDocuments
import Testing

/// The list subscription's bookkeeping (RFC 4662 §4.5, §5): full and partial state, versions,
/// instances and the parts that carry active instances' state.
@Suite struct ResourceListStateTests {
    static let bob = ResourceListState.Member(uri: "sip:bob@example.com", name: "Bob")
    static let carol = ResourceListState.Member(uri: "sip:carol@example.com")

    static func state(_ members: [ResourceListState.Member], version: Int = 0) -> ResourceListState {
        var state = ResourceListState(version: version)
        state.setMembers(members, initialStatus: { $0.uri == bob.uri ? .active : .pending }, instanceID: { "i-" + $0.dropFirst(4).prefix(3) })
        return state
    }

    static func notify(_ state: inout ResourceListState) -> ResourceListState.Notification {
        state.nextNotification(listURI: "sip:alice@example.com;pres-list=rcs", listName: "Buddies", contentIDDomain: "example.com") { uri in
            ("application/pidf+xml", Array("<presence entity=\"\(uri)\"/>".utf8))
        }
    }

    static func text(_ notification: ResourceListState.Notification) -> String { XMLSerializer.serialize(notification.rlmi) }

    @Test func theFirstNotificationIsFullStateWithAPartPerActiveInstance() {
        var state = Self.state([Self.bob, Self.carol])
        #expect(state.hasChanges)
        let first = Self.notify(&state)
        let text = Self.text(first)
        #expect(first.fullState)
        #expect(text.contains("uri=\"sip:alice@example.com;pres-list=rcs\" version=\"0\" fullState=\"true\""))
        #expect(text.contains("<name>Buddies</name>"))
        #expect(text.contains("<resource uri=\"sip:bob@example.com\"><name>Bob</name><instance id=\"i-bob\" state=\"active\" cid=\"i-bob.0@example.com\"/></resource>"))
        // A pending instance has no state to send (§5.2).
        #expect(text.contains("<resource uri=\"sip:carol@example.com\"><instance id=\"i-car\" state=\"pending\"/></resource>"))
        #expect(first.parts.map(\.contentID) == ["i-bob.0@example.com"])
        #expect(first.rlmiContentID == "list.0@example.com")
        #expect(!state.hasChanges)
    }

    @Test func laterChangesArePartialStateListingOnlyWhatChanged() {
        var state = Self.state([Self.bob, Self.carol])
        _ = Self.notify(&state)
        let bobChanged = state.resourceStateChanged(Self.bob.uri)
        // A pending instance's resource changing has nothing to send.
        let carolChanged = state.resourceStateChanged(Self.carol.uri)
        #expect(bobChanged && !carolChanged)
        let second = Self.notify(&state)
        #expect(!second.fullState)
        #expect(Self.text(second).contains("version=\"1\" fullState=\"false\""))
        #expect(!Self.text(second).contains("carol"))
        #expect(second.parts.map(\.contentID) == ["i-bob.1@example.com"])
        // Approval: carol's instance becomes active and is listed with her state.
        let approved = state.setStatus(.active, of: Self.carol.uri)
        let again = state.setStatus(.active, of: Self.carol.uri)
        #expect(approved && !again)
        let third = Self.notify(&state)
        #expect(Self.text(third).contains("<resource uri=\"sip:carol@example.com\"><instance id=\"i-car\" state=\"active\" cid=\"i-car.2@example.com\"/>"))
        #expect(!Self.text(third).contains("bob"))
    }

    @Test func aChangeOfMembersIsSentAsFullStateWithoutTheOnesThatLeft() {
        var state = Self.state([Self.bob, Self.carol])
        _ = Self.notify(&state)
        _ = state.resourceStateChanged(Self.bob.uri)
        let removed = state.setMembers([Self.carol], initialStatus: { _ in .active }, instanceID: { _ in "new" })
        #expect(removed == [Self.bob])
        let next = Self.notify(&state)
        #expect(next.fullState)
        #expect(!Self.text(next).contains("bob"))
        // carol keeps her instance and state.
        #expect(Self.text(next).contains("<instance id=\"i-car\" state=\"pending\"/>"))
        // The same members again change nothing.
        let unchanged = state.setMembers([Self.carol, Self.carol], initialStatus: { _ in .active }, instanceID: { _ in "x" })
        #expect(unchanged.isEmpty)
        #expect(!state.hasChanges)
    }

    @Test func aTerminatedInstanceThatComesBackIsANewInstance() {
        var state = Self.state([Self.bob])
        _ = Self.notify(&state)
        let rejected = state.setStatus(.terminated(reason: "rejected"), of: Self.bob.uri)
        #expect(rejected)
        let ended = Self.text(Self.notify(&state))
        #expect(ended.contains("<instance id=\"i-bob\" state=\"terminated\" reason=\"rejected\"/>"))
        let back = state.setStatus(.active, of: Self.bob.uri)
        #expect(back)
        #expect(state.instanceID(of: Self.bob.uri) == "i-bob.1")
        #expect(Self.text(Self.notify(&state)).contains("<instance id=\"i-bob.1\" state=\"active\""))
    }

    @Test func versionsGoOnFromWhereARestartLeftThem() {
        var state = Self.state([Self.bob], version: 100)
        #expect(Self.text(Self.notify(&state)).contains("version=\"100\""))
        #expect(Self.text(Self.notify(&state)).contains("version=\"101\" fullState=\"true\""))
    }
}
