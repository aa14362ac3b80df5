/// Splits a list header's value at the commas that separate its elements (RFC 3261 §7.3.1),
/// skipping commas inside quoted strings and inside `<...>` URIs.
enum HeaderValueSplitter {
    /// Elements with surrounding whitespace trimmed. An empty value gives no elements; empty
    /// elements between commas are kept so that callers can reject them.
    static func split(_ value: [UInt8], header: String) throws(SIPParseError) -> [[UInt8]] {
        var elements = [[UInt8]]()
        var start = 0
        var index = 0
        var inQuotes = false
        var inAngle = false
        while index < value.count {
            let byte = value[index]
            if inQuotes {
                if byte == ASCII.backslash {
                    index += 2
                    continue
                }
                if byte == ASCII.quote { inQuotes = false }
            } else if byte == ASCII.quote {
                inQuotes = true
            } else if byte == ASCII.lessThan {
                inAngle = true
            } else if byte == ASCII.greaterThan {
                inAngle = false
            } else if byte == ASCII.comma && !inAngle {
                elements.append(Self.trimmed(value[start..<index]))
                start = index + 1
            }
            index += 1
        }
        if inQuotes {
            throw SIPParseError(.malformedHeaderValue, "Unterminated quoted string in \(header) header")
        }
        let last = Self.trimmed(value[start..<min(index, value.count)])
        if !(elements.isEmpty && last.isEmpty) { elements.append(last) }
        return elements
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, ASCII.isWhitespace(bytes[start]) { start += 1 }
        while end > start, ASCII.isWhitespace(bytes[end - 1]) { end -= 1 }
        return Array(bytes[start..<end])
    }
}
