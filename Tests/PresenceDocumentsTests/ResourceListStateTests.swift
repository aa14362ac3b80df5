import PresenceDocuments
import Testing

/// The list subscription's bookkeeping (RFC 4662 §4.5, §5): full and partial state, versions,
/// instances and the parts that carry active instances' state.
@Suite struct ResourceListStateTests {
    /// As the list writes him (the RLMI shows that), and his key.
    static let bob = ResourceListState.Member(key: "sip:bob@example.com", uri: "sip:bob@Example.com;user=phone", name: "Bob")
    static let carol = ResourceListState.Member(key: "sip:carol@example.com", uri: "sip:carol@example.com")

    static func state(_ members: [ResourceListState.Member], version: Int = 0) -> ResourceListState {
        var state = ResourceListState(version: version, instancePrefix: "p")
        state.setMembers(members) { $0.key == bob.key ? .active : .pending }
        return state
    }

    static func notify(_ state: inout ResourceListState) -> ResourceListState.Notification {
        state.nextNotification(listURI: "sip:alice@example.com;pres-list=rcs", listName: "Buddies", contentIDDomain: "example.com") { key in
            ("application/pidf+xml", Array("<presence entity=\"\(key)\"/>".utf8))
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
        #expect(text.contains("<resource uri=\"sip:bob@Example.com;user=phone\"><name>Bob</name><instance id=\"p-1\" state=\"active\" cid=\"p-1.0@example.com\"/></resource>"))
        // A pending instance has no state to send (§5.2).
        #expect(text.contains("<resource uri=\"sip:carol@example.com\"><instance id=\"p-2\" state=\"pending\"/></resource>"))
        #expect(first.parts.map(\.contentID) == ["p-1.0@example.com"])
        #expect(first.parts.first.map { String(decoding: $0.body, as: UTF8.self) } == "<presence entity=\"sip:bob@example.com\"/>")
        #expect(first.rlmiContentID == "p.0@example.com")
        #expect(!state.hasChanges)
    }

    @Test func laterChangesArePartialStateListingOnlyWhatChanged() {
        var state = Self.state([Self.bob, Self.carol])
        _ = Self.notify(&state)
        let bobChanged = state.resourceStateChanged(Self.bob.key)
        // A pending instance's resource changing has nothing to send.
        let carolChanged = state.resourceStateChanged(Self.carol.key)
        #expect(bobChanged && !carolChanged)
        let second = Self.notify(&state)
        #expect(!second.fullState)
        #expect(Self.text(second).contains("version=\"1\" fullState=\"false\""))
        #expect(!Self.text(second).contains("carol"))
        #expect(second.parts.map(\.contentID) == ["p-1.1@example.com"])
        // Approval: carol's instance becomes active and is listed with her state.
        let approved = state.setStatus(.active, of: Self.carol.key)
        let again = state.setStatus(.active, of: Self.carol.key)
        #expect(approved && !again)
        let third = Self.notify(&state)
        #expect(Self.text(third).contains("<resource uri=\"sip:carol@example.com\"><instance id=\"p-2\" state=\"active\" cid=\"p-2.2@example.com\"/>"))
        #expect(!Self.text(third).contains("bob"))
    }

    @Test func aChangeOfMembersIsSentAsFullStateWithoutTheOnesThatLeft() {
        var state = Self.state([Self.bob, Self.carol])
        _ = Self.notify(&state)
        _ = state.resourceStateChanged(Self.bob.key)
        let removed = state.setMembers([Self.carol]) { _ in .active }
        #expect(removed == [Self.bob])
        let next = Self.notify(&state)
        #expect(next.fullState)
        #expect(!Self.text(next).contains("bob"))
        // carol keeps her instance and state.
        #expect(Self.text(next).contains("<instance id=\"p-2\" state=\"pending\"/>"))
        // The same members again (a duplicate entry too) change nothing.
        let unchanged = state.setMembers([Self.carol, Self.carol]) { _ in .active }
        #expect(unchanged.isEmpty)
        #expect(!state.hasChanges)
        // bob back in the list is a new instance.
        state.setMembers([Self.carol, Self.bob]) { _ in .active }
        #expect(state.instanceID(of: Self.bob.key) == "p-3")
    }

    @Test func aTerminatedInstanceThatComesBackIsANewInstance() {
        var state = Self.state([Self.bob])
        _ = Self.notify(&state)
        let rejected = state.setStatus(.terminated(reason: "rejected"), of: Self.bob.key)
        #expect(rejected)
        let ended = Self.text(Self.notify(&state))
        #expect(ended.contains("<instance id=\"p-1\" state=\"terminated\" reason=\"rejected\"/>"))
        let back = state.setStatus(.active, of: Self.bob.key)
        #expect(back)
        #expect(state.instanceID(of: Self.bob.key) == "p-2")
        #expect(Self.text(Self.notify(&state)).contains("<instance id=\"p-2\" state=\"active\""))
    }

    @Test func versionsGoOnFromWhereARestartLeftThem() {
        var state = Self.state([Self.bob], version: 100)
        #expect(Self.text(Self.notify(&state)).contains("version=\"100\""))
        #expect(Self.text(Self.notify(&state)).contains("version=\"101\" fullState=\"true\""))
    }

    @Test func theStateOfOneNotificationIsBounded() {
        var state = Self.state([Self.bob, Self.carol])
        state.setStatus(.active, of: Self.carol.key)
        // Room for one document (each is 41 or 43 bytes): the other instance is listed without.
        let notification = state.nextNotification(listURI: "sip:l@example.com", listName: nil, contentIDDomain: "example.com", stateBudget: 50) { key in
            ("application/pidf+xml", Array("<presence entity=\"\(key)\"/>".utf8))
        }
        #expect(notification.parts.count == 1)
        let text = Self.text(notification)
        #expect(text.contains("<instance id=\"p-1\" state=\"active\" cid=\"p-1.0@example.com\"/>"))
        #expect(text.contains("<instance id=\"p-2\" state=\"active\"/>"))
    }
}
