@testable import HeraldEngine
import Testing

struct TagGeneratorTests {
    static let base32Digits = Set("0123456789abcdefghijklmnopqrstuv")

    @Test func base32WritesThirteenDigitsMostSignificantFirst() {
        var output = [UInt8](repeating: 0, count: 15)
        let end = output.withUnsafeMutableBufferPointer { TagGenerator.base32(0x8000_0000_0000_0021, into: $0, at: 2) }
        #expect(end == 15)
        // 2^63 + 33: the top digit holds the highest 4 bits (65 bits in 13 digits), 33 = "11".
        #expect(String(decoding: output[2...], as: UTF8.self) == "8000000000011")
        #expect(output[0] == 0 && output[1] == 0)
    }

    @Test func branchesCarryTheMagicCookieAnd128RandomBits() {
        let branches = (0..<1_000).map { _ in SIPEngine.makeBranch() }
        #expect(Set(branches).count == branches.count)
        for branch in branches {
            // RFC 3261 §8.1.1.7: a branch starts with z9hG4bK; the rest is a token.
            #expect(branch.hasPrefix("z9hG4bK"))
            #expect(branch.count == 7 + 26)
            #expect(branch.dropFirst(7).allSatisfy { Self.base32Digits.contains($0) })
        }
    }

    @Test func tagsAreThirteenBase32Digits() {
        let tags = (0..<1_000).map { _ in SIPEngine.makeTag() }
        #expect(Set(tags).count == tags.count)
        #expect(tags.allSatisfy { $0.count == 13 && $0.allSatisfy { Self.base32Digits.contains($0) } })
    }
}
