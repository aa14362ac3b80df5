/// Strict base64 decoding (RFC 4648 §4) for XML content: white space between characters is
/// skipped (XML wraps long values), anything else outside the alphabet is an error.
package enum Base64 {
    /// The decoded bytes, or nil when the text is not base64.
    package static func decode(_ text: String) -> [UInt8]? {
        var sextets = [UInt8]()
        sextets.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                continue
            case UInt8(ascii: "="):
                padding += 1
                continue
            default:
                guard padding == 0, let value = Self.value(of: byte) else { return nil }
                sextets.append(value)
            }
        }
        // Padding is optional, but when present it completes the last quantum.
        guard padding <= 2, sextets.count % 4 != 1, padding == 0 || (sextets.count + padding) % 4 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(sextets.count * 3 / 4)
        var index = 0
        while index < sextets.count {
            let chunk = sextets[index..<min(index + 4, sextets.count)]
            let values = Array(chunk) + Array(repeating: 0, count: 4 - chunk.count)
            let combined = UInt32(values[0]) << 18 | UInt32(values[1]) << 12 | UInt32(values[2]) << 6 | UInt32(values[3])
            let decoded = [UInt8(combined >> 16 & 0xFF), UInt8(combined >> 8 & 0xFF), UInt8(combined & 0xFF)]
            bytes += decoded.prefix(chunk.count - 1)
            index += 4
        }
        return bytes
    }

    private static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
