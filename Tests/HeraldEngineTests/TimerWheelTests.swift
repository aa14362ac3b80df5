@testable import HeraldEngine
import NIOCore
import SIPProtocol
import Testing

struct TimerWheelTests {
    func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    @Test func nearTimersFireWithinATickAndFarOnesWithinASecondNeverEarly() {
        let wheel = TimerWheel(now: self.at(0))
        var fired: [String] = []
        wheel.schedule(at: self.at(505)) { fired.append("near") }
        wheel.schedule(at: self.at(90_005)) { fired.append("far") }
        wheel.advance(to: self.at(500))
        #expect(fired.isEmpty)
        wheel.advance(to: self.at(510))
        #expect(fired == ["near"])
        wheel.advance(to: self.at(90_010))
        #expect(fired == ["near"])  // shares the bucket of second 91
        wheel.advance(to: self.at(91_000))
        #expect(fired == ["near", "far"])
        #expect(wheel.armedCount == 0)
    }

    @Test func aSparseTableGivesBackItsCapacity() {
        var table: [Int: Int] = [:]
        for key in 0..<10_000 { table[key] = key }
        let peak = table.capacity
        for key in 0..<9_900 { table[key] = nil }
        table.releaseUnusedCapacity()
        #expect(table.capacity < peak / 4)
        #expect(table.count == 100 && table[9_999] == 9_999)
        // A small or well-filled table is left as it is.
        var small: [Int: Int] = [1: 1]
        let smallCapacity = small.capacity
        small.releaseUnusedCapacity()
        #expect(small.capacity == smallCapacity)
    }

    @Test func clientTransactionTimersFireAsDataInDeadlineOrderWithTheOthers() {
        let wheel = TimerWheel(now: self.at(0))
        var fired: [String] = []
        wheel.clientTransactionTimerFired = { branch, timer in fired.append("\(branch):\(timer.name):\(timer.generation)") }
        wheel.scheduleClientTransactionTimer(TransactionTimer(name: .f, generation: 2), branch: "z9hG4bK1", at: self.at(32_000))
        wheel.schedule(at: self.at(600)) { fired.append("action") }
        wheel.scheduleClientTransactionTimer(TransactionTimer(name: .e, generation: 1), branch: "z9hG4bK1", at: self.at(500))
        #expect(wheel.armedCount == 3)
        wheel.advance(to: self.at(700))
        #expect(fired == ["z9hG4bK1:e:1", "action"])
        wheel.advance(to: self.at(33_000))
        #expect(fired == ["z9hG4bK1:e:1", "action", "z9hG4bK1:f:2"])
        #expect(wheel.armedCount == 0)
    }
}
