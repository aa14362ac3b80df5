/// One header line. A field parsed off the wire keeps the exact bytes it arrived with
/// (name spelling, separator, folding), so a header Herald does not touch is written back
/// byte for byte (RFC 3261 §16.6 asks proxies not to reorder or rewrite what they pass on).
public struct SIPHeaderField: Sendable {
    public let known: KnownHeader?
    /// The header line without its terminating CRLF; continuation lines are included.
    public let line: ArraySlice<UInt8>
    /// Absolute index in `line` where the name ends.
    let nameEnd: Int
    /// Absolute index in `line` where the value starts (after the colon and leading LWS).
    let valueStart: Int

    init(known: KnownHeader?, line: ArraySlice<UInt8>, nameEnd: Int, valueStart: Int) {
        self.known = known
        self.line = line
        self.nameEnd = nameEnd
        self.valueStart = valueStart
    }

    /// A new header line `Name: value`, using the canonical spelling for known headers.
    public init(_ name: SIPHeaderName, _ value: String) {
        let nameText = name.known?.canonicalName ?? name.description
        var bytes = [UInt8]()
        bytes.reserveCapacity(nameText.utf8.count + 2 + value.utf8.count)
        bytes.append(contentsOf: nameText.utf8)
        bytes.append(ASCII.colon)
        bytes.append(ASCII.space)
        bytes.append(contentsOf: value.utf8)
        self.known = name.known
        self.line = bytes[...]
        self.nameEnd = nameText.utf8.count
        self.valueStart = nameText.utf8.count + 2
    }

    /// The name as it was written.
    public var name: String {
        var end = self.nameEnd
        while end > self.line.startIndex, ASCII.isWhitespace(self.line[end - 1]) { end -= 1 }
        return String(sipBytes: self.line[self.line.startIndex..<end])
    }

    /// The value bytes as written: folding kept, trailing whitespace removed.
    public var rawValue: ArraySlice<UInt8> {
        var end = self.line.endIndex
        while end > self.valueStart, ASCII.isWhitespace(self.line[end - 1]) || self.line[end - 1] == ASCII.cr {
            end -= 1
        }
        return self.line[self.valueStart..<end]
    }

    /// The value with line folding replaced by a single space (RFC 3261 §7.3.1).
    public var valueBytes: [UInt8] {
        let raw = self.rawValue
        guard raw.contains(ASCII.lf) else { return Array(raw) }
        var result = [UInt8]()
        result.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            if byte == ASCII.cr || byte == ASCII.lf {
                // Drop trailing whitespace before the fold and the fold's leading whitespace.
                while let last = result.last, ASCII.isWhitespace(last) { result.removeLast() }
                index += 1
                while index < raw.endIndex,
                    raw[index] == ASCII.lf || raw[index] == ASCII.cr || ASCII.isWhitespace(raw[index])
                {
                    index += 1
                }
                result.append(ASCII.space)
                continue
            }
            result.append(byte)
            index += 1
        }
        // A value that starts on a continuation line ("To:" CRLF SP "sip:…") has no leading space.
        if let first = result.firstIndex(where: { !ASCII.isWhitespace($0) }), first > 0 {
            result.removeFirst(first)
        }
        return result
    }

    /// The unfolded value as text.
    public var value: String { String(sipBytes: self.valueBytes) }

    func matches(_ name: SIPHeaderName) -> Bool {
        if let known = name.known { return self.known == known }
        guard self.known == nil else { return false }
        return ASCII.equalsIgnoringCase(self.line[self.line.startIndex..<self.trimmedNameEnd], name.lowercasedBytes)
    }

    private var trimmedNameEnd: Int {
        var end = self.nameEnd
        while end > self.line.startIndex, ASCII.isWhitespace(self.line[end - 1]) { end -= 1 }
        return end
    }
}
