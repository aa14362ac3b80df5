import Foundation

/// Base64 in XML content (RFC 4648 §4): XML wraps long values, so white space is dropped;
/// anything else outside the alphabet makes the text invalid. Foundation decodes.
package enum Base64 {
    /// The decoded bytes, or nil when the text is not base64.
    package static func decode(_ text: String) -> [UInt8]? {
        var compact = String(text.unicodeScalars.filter { !" \t\r\n".unicodeScalars.contains($0) })
        // `=` only as padding at the very end (Foundation on Linux lets it through elsewhere).
        let body = compact.prefix { $0 != "=" }
        let padding = compact.count - body.count
        guard padding <= 2, compact.hasSuffix(String(repeating: "=", count: padding)) else { return nil }
        // Padding is optional in the documents clients write; Foundation wants it.
        if compact.utf8.count % 4 != 0 { compact += String(repeating: "=", count: 4 - compact.utf8.count % 4) }
        return Data(base64Encoded: compact).map(Array.init)
    }
}
