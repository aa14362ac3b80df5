@testable import SIPProtocol
import Testing

/// Virtual time starts at a non-zero instant, so absolute and relative instants differ.
private let t0 = SIPInstant(nanoseconds: 1_000_000_000)

@Suite struct TransactionTimerSettingsTests {
    @Test func defaultsAreT1500msT2FourSecondsT4FiveSeconds() {
        // RFC 3261 §17.1.1.1 and Table 4.
        let settings = TransactionTimerSettings()
        #expect(settings.t1 == .milliseconds(500))
        #expect(settings.t2 == .seconds(4))
        #expect(settings.t4 == .seconds(5))
    }

    @Test func derivedTimersFollowRFC3261Table4AndRFC6026() {
        let settings = TransactionTimerSettings()
        let timeouts = [
            settings.timerB, settings.timerF, settings.timerH, settings.timerJ, settings.timerL, settings.timerM,
        ]
        for timeout in timeouts {
            #expect(timeout == .seconds(32))
        }
        #expect(settings.timerAInitial == .milliseconds(500))
        #expect(settings.timerEInitial == .milliseconds(500))
        #expect(settings.timerGInitial == .milliseconds(500))
        #expect(settings.timerD == .seconds(32))
        #expect(settings.timerI == .seconds(5))
        #expect(settings.timerK == .seconds(5))
    }

    @Test func timeoutsScaleWith64TimesT1() {
        let settings = TransactionTimerSettings(t1: .milliseconds(100), t2: .seconds(2), t4: .seconds(3))
        #expect(settings.timerB == .milliseconds(6400))
        #expect(settings.timerF == .milliseconds(6400))
        #expect(settings.timerI == .seconds(3))
        #expect(settings.timerK == .seconds(3))
    }

    @Test func timerDIsAtLeast32SecondsOnUnreliableTransports() {
        // RFC 3261 §17.1.1.2: "at least 32 seconds"; with a large T1 it follows 64*T1.
        #expect(TransactionTimerSettings(t1: .milliseconds(100)).timerD == .seconds(32))
        #expect(TransactionTimerSettings(t1: .seconds(1)).timerD == .seconds(64))
    }

    @Test func sipInstantArithmeticIsExactToTheNanosecond() {
        let later = t0 + .milliseconds(1500)
        #expect(later.nanosecondsSinceStart == 2_500_000_000)
        #expect(later - t0 == .milliseconds(1500))
        #expect(t0 - later == .milliseconds(-1500))
        #expect(t0 < later)
        #expect(t0 + .nanoseconds(1) > t0)
        #expect(SIPInstant.zero + .seconds(1) == t0)
    }

    @Test func sipInstantArithmeticSaturatesInsteadOfTrapping() {
        let last = SIPInstant(nanoseconds: .max)
        let first = SIPInstant(nanoseconds: .min)
        #expect(last + .seconds(1) == last)
        #expect(first + .seconds(-1) == first)
        #expect(t0 + .seconds(Int64.max) == last)
        #expect(last - first == .nanoseconds(Int64.max))
        #expect(first - last == .nanoseconds(Int64.min))
    }

    @Test func everySchedulingGetsAFreshGenerationAndOnlyTheCurrentOneFires() {
        var timers = ArmedTransactionTimers()
        let first = timers.arm(.e)
        let second = timers.arm(.e)
        let other = timers.arm(.f)
        #expect(first.generation != second.generation)
        #expect(Set([first.generation, second.generation, other.generation]).count == 3)
        #expect(timers.consume(first) == false)
        #expect(timers.consume(second) == true)
        #expect(timers.consume(second) == false)
        #expect(timers.isArmed(.f))
        #expect(timers.disarm(.f) == true)
        #expect(timers.consume(other) == false)
        #expect(timers.disarm(.f) == false)
    }
}
