/// Percent-decoding and -encoding of XCAP URI parts (RFC 3986 §2.1, as RFC 4825 §6 uses it).
///
/// Decoding is strict: a `%` must be followed by two hex digits and the decoded bytes must be
/// UTF-8, so a mangled URI is an error rather than a silently different resource. `+` is a
/// literal plus sign in a path (it is not form encoding): `sip%3A%2B33…` and `sip:+33…` are the
/// same XUI.
package enum XCAPPercentEncoding {
    /// The decoded text, or nil when an escape is malformed or the bytes are not UTF-8.
    package static func decode(_ text: Substring) -> String? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    package static func decode(_ text: String) -> String? {
        Self.decode(text[...])
    }

    /// Encodes everything but RFC 3986 unreserved characters: safe for any path segment
    /// (an XUI `sip:+33…@host` becomes `sip%3A%2B33…%40host`, the spelling RCS clients use).
    package static func encodeSegment(_ text: String) -> String {
        Self.encode(text) { _ in false }
    }

    /// Encodes a node selector for use after `/~~/`: steps stay readable (`/`, `@`, `=`, `:`, `*`
    /// are kept) while brackets, quotes and spaces are escaped, as in
    /// `resource-lists/list%5B@name=%22rcs%22%5D`.
    package static func encodeNodeSelector(_ text: String) -> String {
        Self.encode(text) { "/@=:*!$&'()+,;".utf8.contains($0) }
    }

    private static func encode(_ text: String, keeping extra: (UInt8) -> Bool) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if Self.isUnreserved(byte) || extra(byte) {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += "%" + Self.hexDigit(byte >> 4) + Self.hexDigit(byte & 0x0F)
            }
        }
        return output
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func hexDigit(_ value: UInt8) -> String {
        String(Unicode.Scalar(value < 10 ? value + UInt8(ascii: "0") : value - 10 + UInt8(ascii: "A")))
    }
}
