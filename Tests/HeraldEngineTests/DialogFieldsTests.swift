@testable import HeraldEngine
import Testing

struct DialogFieldsTests {
    @Test func packedDialogRoundTrips() {
        let fields = DialogFields(
            callID: "c@h", localTag: "t1", remoteTag: "", watcher: "sip:bob@example.com", watcherAddress: "\"Bob\" <sip:bob@example.com>",
            watcherDisplayName: nil, remoteTarget: "sip:bob@192.0.2.1;transport=tcp", routeSet: ["<sip:p1;lr>", "<sip:p2;lr>"])
        let unpacked = DialogFields(packed: fields.packed)
        #expect(unpacked.callID == "c@h")
        #expect(unpacked.localTag == "t1")
        #expect(unpacked.remoteTag == "")
        #expect(unpacked.watcher == "sip:bob@example.com")
        #expect(unpacked.watcherAddress == "\"Bob\" <sip:bob@example.com>")
        #expect(unpacked.watcherDisplayName == nil)
        #expect(unpacked.remoteTarget == "sip:bob@192.0.2.1;transport=tcp")
        #expect(unpacked.routeSet == ["<sip:p1;lr>", "<sip:p2;lr>"])
    }

    @Test func emptyFirstFieldAndDisplayNameKeepTheirPlaces() {
        let fields = DialogFields(
            callID: "", localTag: "a", remoteTag: "b", watcher: "w", watcherAddress: "<w>", watcherDisplayName: "Bob",
            remoteTarget: "sip:x", routeSet: [])
        let unpacked = DialogFields(packed: fields.packed)
        #expect(unpacked.callID == "")
        #expect(unpacked.localTag == "a")
        #expect(unpacked.watcherDisplayName == "Bob")
        #expect(unpacked.routeSet.isEmpty)
    }

    @Test func shortIDsStayInlineAndDifferByPackage() {
        let presence = SubscriptionEntry.id(localTag: "3w5e11264sgsf", event: "presence", eventID: nil)
        let winfo = SubscriptionEntry.id(localTag: "3w5e11264sgsf", event: "presence.winfo", eventID: nil)
        #expect(presence != winfo)
        #expect(presence.utf8.count <= 15)  // Swift keeps up to 15 UTF-8 bytes without allocating
        #expect(SubscriptionEntry.id(localTag: "t", event: "presence", eventID: "7") != presence)
        #expect(SubscriptionEntry.id(localTag: "t", event: "dialog", eventID: nil) == "t|dialog")
    }

    @Test func packedBytesGiveEachFieldWithoutUnpacking() {
        func text(_ field: UnsafeBufferPointer<UInt8>) -> String { String(decoding: field, as: UTF8.self) }
        for routes in [[], ["<sip:p1;lr>"], ["<sip:p1;lr>", "<sip:p2;lr>"]] {
            var packed = DialogFields(
                callID: "c@h", localTag: "t1", remoteTag: "", watcher: "sip:bob@example.com", watcherAddress: "<sip:bob@example.com>",
                watcherDisplayName: "Bob", remoteTarget: "sip:bob@192.0.2.1", routeSet: routes
            ).packed
            packed.withUTF8 { bytes in
                let view = PackedDialogFields(bytes: bytes)
                #expect(text(view.callID) == "c@h")
                #expect(text(view.localTag) == "t1")
                #expect(text(view.remoteTag) == "")
                #expect(text(view.watcherAddress) == "<sip:bob@example.com>")
                #expect(text(view.remoteTarget) == "sip:bob@192.0.2.1")
                #expect(view.routeCount == routes.count)
                #expect((0..<view.routeCount).map { text(view.route($0)) } == routes)
            }
        }
    }
}
