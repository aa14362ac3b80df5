/// Byte classes of the RFC 3261 §25 grammar, as lookup tables so the hot parsing loops
/// test a character with one load.
@usableFromInline
enum ASCII {
    @usableFromInline static let cr: UInt8 = 13
    @usableFromInline static let lf: UInt8 = 10
    @usableFromInline static let space: UInt8 = 32
    @usableFromInline static let tab: UInt8 = 9
    @usableFromInline static let colon: UInt8 = 58
    @usableFromInline static let semicolon: UInt8 = 59
    @usableFromInline static let comma: UInt8 = 44
    @usableFromInline static let equals: UInt8 = 61
    @usableFromInline static let quote: UInt8 = 34
    @usableFromInline static let backslash: UInt8 = 92
    @usableFromInline static let lessThan: UInt8 = 60
    @usableFromInline static let greaterThan: UInt8 = 62
    @usableFromInline static let slash: UInt8 = 47
    @usableFromInline static let at: UInt8 = 64
    @usableFromInline static let question: UInt8 = 63
    @usableFromInline static let ampersand: UInt8 = 38
    @usableFromInline static let percent: UInt8 = 37
    @usableFromInline static let leftBracket: UInt8 = 91
    @usableFromInline static let rightBracket: UInt8 = 93
    @usableFromInline static let dot: UInt8 = 46

    @inlinable static func isWhitespace(_ byte: UInt8) -> Bool { byte == space || byte == tab }
    @inlinable static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    @inlinable static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }
    @inlinable static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isAlpha(byte) }
    @inlinable static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || ((byte | 0x20) >= 97 && (byte | 0x20) <= 102)
    }
    @inlinable static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }
    @inlinable static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }

    /// `word` characters used by Call-ID (RFC 3261 §25.1).
    @usableFromInline static let wordTable: [Bool] = makeTable { byte in
        isAlphanumeric(byte) || "-.!%*_+`'~()<>:\\\"/[]?{}".utf8.contains(byte)
    }

    // Classified with switches rather than the tables above on the hot path: a global table
    // costs a lazy-initialisation check on every access.
    @inlinable static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "_"),
            UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
    @inlinable static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "~"), UInt8(ascii: "*"),
            UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"):
            return true
        default: return false
        }
    }
    @inlinable static func isWord(_ byte: UInt8) -> Bool { wordTable[Int(byte)] }

    /// ASCII case-insensitive equality of two strings, without allocating lowercased copies.
    @inlinable static func equalsIgnoringCase(_ left: String, _ right: String) -> Bool {
        let a = left.utf8
        let b = right.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { lowercased($0) == lowercased($1) }
    }

    static func makeTable(_ predicate: (UInt8) -> Bool) -> [Bool] {
        (0...255).map { predicate(UInt8($0)) }
    }

    @inlinable static func equalsIgnoringCase<C: Collection>(_ bytes: C, _ lowercase: [UInt8]) -> Bool
    where C.Element == UInt8 {
        guard bytes.count == lowercase.count else { return false }
        var index = lowercase.startIndex
        for byte in bytes {
            if lowercased(byte) != lowercase[index] { return false }
            index += 1
        }
        return true
    }
}

extension String {
    /// Decodes bytes taken off the wire; invalid UTF-8 is repaired rather than rejected because
    /// SIP carries opaque octets in quoted strings (RFC 4475 §3.1.1.2).
    @inlinable init<C: Collection>(sipBytes bytes: C) where C.Element == UInt8 {
        self = String(decoding: bytes, as: UTF8.self)
    }
}
