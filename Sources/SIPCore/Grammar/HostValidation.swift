/// Host grammar of RFC 3261 §25.1 (`hostname / IPv4address / IPv6reference`).
enum HostValidation {
    /// `hostname = *( domainlabel "." ) toplabel [ "." ]`, checked loosely: labels of
    /// alphanumerics and hyphens, not starting or ending with a hyphen.
    static func isHostname<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard !bytes.isEmpty else { return false }
        var labelLength = 0
        var previous: UInt8 = ASCII.dot
        for byte in bytes {
            if byte == ASCII.dot {
                if labelLength == 0 || previous == UInt8(ascii: "-") { return false }
                labelLength = 0
            } else if ASCII.isAlphanumeric(byte) || byte == UInt8(ascii: "-") {
                if labelLength == 0 && byte == UInt8(ascii: "-") { return false }
                labelLength += 1
            } else if byte == UInt8(ascii: "_") {
                // Underscores appear in real deployments' host names; tolerate them.
                labelLength += 1
            } else {
                return false
            }
            previous = byte
        }
        return previous != UInt8(ascii: "-")
    }

    static func isIPv4<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var parts = 0
        var digits = 0
        var value = 0
        for byte in bytes {
            if byte == ASCII.dot {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else if ASCII.isDigit(byte) {
                digits += 1
                value = value * 10 + Int(byte - 48)
                if digits > 3 || value > 255 { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    /// `IPv6address` (RFC 3261 §25.1, corrected by RFC 5954). The RFC 3261 ABNF bug that lets
    /// `2001:db8:::192.0.2.1` through is tolerated, as RFC 5118 §4.10 asks of receivers.
    static func isIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        var text = Array(bytes)
        if let range = Self.findTripleColon(text) { text.removeSubrange(range.lowerBound..<range.lowerBound + 1) }
        guard !text.isEmpty else { return false }
        var groups = 0
        var doubleColonSeen = false
        var index = 0
        if text.starts(with: [ASCII.colon, ASCII.colon]) {
            doubleColonSeen = true
            index = 2
            if index == text.count { return true }
        } else if text.first == ASCII.colon {
            return false
        }
        while index < text.count {
            var end = index
            while end < text.count, text[end] != ASCII.colon { end += 1 }
            let group = text[index..<end]
            if group.contains(ASCII.dot) {
                // An embedded IPv4 address must be last and counts for two groups.
                guard end == text.count, Self.isIPv4(group) else { return false }
                groups += 2
                break
            }
            guard !group.isEmpty, group.count <= 4, group.allSatisfy(ASCII.isHexDigit) else { return false }
            groups += 1
            if end == text.count { break }
            if end + 1 < text.count, text[end + 1] == ASCII.colon {
                guard !doubleColonSeen else { return false }
                doubleColonSeen = true
                index = end + 2
                if index == text.count { break }
            } else {
                guard end + 1 < text.count else { return false }
                index = end + 1
            }
        }
        return doubleColonSeen ? groups < 8 : groups == 8
    }

    private static func findTripleColon(_ text: [UInt8]) -> Range<Int>? {
        guard text.count >= 3 else { return nil }
        for index in 0...(text.count - 3)
        where text[index] == ASCII.colon && text[index + 1] == ASCII.colon && text[index + 2] == ASCII.colon {
            return index..<index + 3
        }
        return nil
    }
}
