/// Lexical checks for XML names (Namespaces in XML 1.0 §3: NCName and QName).
///
/// ASCII is checked exactly; characters beyond ASCII are accepted as name characters, which
/// admits a few code points the XML grammar excludes but never lets through a delimiter.
package enum XMLNameSyntax {
    package static func isNCName(_ text: some StringProtocol) -> Bool {
        guard let first = text.unicodeScalars.first, Self.isNameStart(first) else { return false }
        return text.unicodeScalars.dropFirst().allSatisfy(Self.isNameCharacter)
    }

    /// Splits `prefix:local` (or `local`) after checking both parts are NCNames.
    package static func splitQName(_ text: some StringProtocol) -> (prefix: String?, local: String)? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where Self.isNCName(parts[0]):
            return (nil, String(parts[0]))
        case 2 where Self.isNCName(parts[0]) && Self.isNCName(parts[1]):
            return (String(parts[0]), String(parts[1]))
        default:
            return nil
        }
    }

    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "_": true
        default: scalar.value >= 0xC0 && !Self.isExcludedNonASCII(scalar)
        }
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-", ".": true
        default: scalar.value == 0xB7 || (scalar.value >= 0xC0 && !Self.isExcludedNonASCII(scalar))
        }
    }

    /// ×D7, ×F7 and the spaces and punctuation of U+2000…U+206F are never name characters.
    private static func isExcludedNonASCII(_ scalar: Unicode.Scalar) -> Bool {
        let isKeptInGeneralPunctuation = [0x200C, 0x200D, 0x203F, 0x2040].contains(scalar.value)
        return scalar.value == 0xD7 || scalar.value == 0xF7
            || ((0x2000...0x206F).contains(scalar.value) && !isKeptInGeneralPunctuation)
    }
}

extension StringProtocol {
    /// Without leading and trailing XML whitespace (space, tab, CR, LF).
    package func trimmingXMLSpace() -> String {
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        var scalars = String(self).unicodeScalars[...]
        while let first = scalars.first, isSpace(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, isSpace(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
