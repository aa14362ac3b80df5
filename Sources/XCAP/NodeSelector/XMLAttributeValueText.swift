/// The text form of an attribute value as XML writes it between quotes (XML 1.0 §2.3, `AttValue`).
///
/// XCAP uses it twice: in a node selector's attribute test (`[@uri="a&amp;b"]`, RFC 4825 §6.3)
/// and as the body of an attribute resource, `application/xcap-att+xml` (RFC 4825 §15.2.2),
/// which is the attribute value with its quotes removed.
package enum XMLAttributeValueText {
    /// The value the text stands for, with entity and character references replaced; nil when the
    /// text is not an `AttValue` body: it holds `<`, an `&` that does not start a reference, an
    /// unknown entity, a reference to a character XML forbids, or the delimiting quote.
    package static func decode(_ text: some StringProtocol, delimiter: Character? = nil) -> String? {
        var output = ""
        var rest = Substring(text)
        while let character = rest.first {
            rest = rest.dropFirst()
            switch character {
            case "<":
                return nil
            case "&":
                guard let semicolon = rest.firstIndex(of: ";") else { return nil }
                let reference = rest[..<semicolon]
                rest = rest[rest.index(after: semicolon)...]
                guard let resolved = Self.resolve(reference) else { return nil }
                output.unicodeScalars.append(resolved)
            default:
                if let delimiter, character == delimiter { return nil }
                // Attribute-value normalization (XML 1.0 §3.3.3): literal white space becomes a space.
                if character == "\t" || character == "\n" || character == "\r" || character == "\r\n" {
                    output.append(" ")
                } else {
                    output.append(character)
                }
            }
        }
        return output
    }

    /// The value escaped for use between double quotes. White space other than the space
    /// character is written as character references so that the value reads back unchanged.
    package static func encode(_ value: String) -> String {
        var output = ""
        output.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "\t": output += "&#9;"
            case "\n": output += "&#10;"
            case "\r": output += "&#13;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static func resolve(_ reference: Substring) -> Unicode.Scalar? {
        switch reference {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "apos": return "'"
        case "quot": return "\""
        default: break
        }
        guard reference.hasPrefix("#") else { return nil }
        let digits = reference.dropFirst()
        let value: UInt32?
        if digits.hasPrefix("x") {
            let hex = digits.dropFirst()
            let valid = !hex.isEmpty && hex.count <= 8 && hex.allSatisfy { $0.isASCII && $0.isHexDigit }
            value = valid ? UInt32(hex, radix: 16) : nil
        } else {
            let valid = !digits.isEmpty && digits.count <= 10 && digits.allSatisfy { $0.isASCII && $0.isWholeNumber }
            value = valid ? UInt32(digits, radix: 10) : nil
        }
        guard let value, Self.isXMLCharacter(value) else { return nil }
        return Unicode.Scalar(value)
    }

    /// `Char` of XML 1.0 §2.2.
    private static func isXMLCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
