import SIPCore

/// Answers a request straight from its bytes. Under fan-out load the generator receives tens of
/// thousands of NOTIFYs a second and answers each with a response that only copies the
/// request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2); building a parsed message for
/// each, only to copy five headers back, made the load generator run out of CPU before the
/// server under test did.
public struct RawAnswer: Sendable {
    /// The response's bytes, ending with `Content-Length: 0` and the empty line.
    public var response: [UInt8]
    /// The request's method token (`NOTIFY`).
    public var method: ArraySlice<UInt8>
    /// The request's Call-ID, without surrounding whitespace.
    public var callID: ArraySlice<UInt8>
    /// Where the request's body starts in its bytes (its end when there is no body); the body
    /// runs to the end of the datagram (Content-Length is not read).
    public var bodyStart: Int

    /// The answer with `status` and `reason` to the request in `request`, or nil when the bytes
    /// are a response, have no complete header section, or lack a header the response copies.
    /// A To without a tag gets `toTag` (§8.2.6.2); folded header lines are copied with their header.
    public static func answering(_ request: [UInt8], status: Int = 200, reason: String = "OK", toTag: String = "load") -> RawAnswer? {
        let count = request.count
        guard count > 8, !request.starts(with: Self.sipVersion) else { return nil }
        guard let firstEnd = Self.lineEnd(request, from: 0),
            let methodEnd = request[0..<firstEnd.content].firstIndex(of: UInt8(ascii: " ")), methodEnd > 0
        else { return nil }
        var lineStart = firstEnd.next

        var response: [UInt8] = []
        response.reserveCapacity(512)
        response.append(contentsOf: "SIP/2.0 \(status) \(reason)\r\n".utf8)
        var found: UInt8 = 0  // one bit per `Copied` case
        var callID: Range<Int>?
        while true {
            guard let end = Self.lineEnd(request, from: lineStart) else { return nil }
            if end.content == lineStart {
                // The empty line: the header section is complete.
                guard found == Copied.all, let callID else { return nil }
                response.append(contentsOf: "Content-Length: 0\r\n\r\n".utf8)
                return RawAnswer(response: response, method: request[0..<methodEnd], callID: request[callID], bodyStart: end.next)
            }
            // One header: its line and the folded lines continuing it (RFC 3261 §7.3.1).
            var last = end
            while last.next < count, request[last.next] == UInt8(ascii: " ") || request[last.next] == UInt8(ascii: "\t") {
                guard let next = Self.lineEnd(request, from: last.next) else { return nil }
                last = next
            }
            guard let colon = request[lineStart..<end.content].firstIndex(of: UInt8(ascii: ":")) else { return nil }
            var nameEnd = colon
            while nameEnd > lineStart, request[nameEnd - 1] == UInt8(ascii: " ") || request[nameEnd - 1] == UInt8(ascii: "\t") {
                nameEnd -= 1
            }
            if let header = Copied(name: request[lineStart..<nameEnd]) {
                found |= header.rawValue
                let field = request[lineStart..<last.content]
                if header == .callID { callID = Self.trimmed(request, colon + 1, last.content) }
                response.append(contentsOf: field)
                if header == .to, !Self.containsTag(field) { response.append(contentsOf: ";tag=\(toTag)".utf8) }
                response.append(contentsOf: [13, 10])
            }
            lineStart = last.next
        }
    }

    /// The headers a response copies from its request (RFC 3261 §8.2.6.2), in full and compact form.
    enum Copied: UInt8 {
        case via = 1, from = 2, to = 4, callID = 8, cseq = 16
        static let all: UInt8 = 31

        init?(name: ArraySlice<UInt8>) {
            // The parser's own name table: full and compact forms, any case.
            switch name.withUnsafeBufferPointer({ KnownHeader.identify($0) }) {
            case .via?: self = .via
            case .from?: self = .from
            case .to?: self = .to
            case .callID?: self = .callID
            case .cseq?: self = .cseq
            default: return nil
            }
        }
    }

    private static let sipVersion = Array("SIP/".utf8)

    /// The end of the line starting at `start`: where its content ends (before CR LF or a bare LF)
    /// and where the next line starts; nil when no line ending follows.
    private static func lineEnd(_ bytes: [UInt8], from start: Int) -> (content: Int, next: Int)? {
        guard start < bytes.count, let newline = bytes[start...].firstIndex(of: 10) else { return nil }
        let content = newline > start && bytes[newline - 1] == 13 ? newline - 1 : newline
        return (content, newline + 1)
    }

    /// Whether the To header `field` (name and value) carries a `tag` parameter: a header
    /// parameter after the name-addr's `>` (or, without brackets, after the URI, which then has
    /// no parameters of its own, RFC 3261 §20), not text inside a quoted display name or a URI.
    static func containsTag(_ field: ArraySlice<UInt8>) -> Bool {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else { return false }
        var index = colon + 1
        var quoted = false
        var parametersStart: Int?
        var sawBracket = false
        while index < field.endIndex {
            let byte = field[index]
            if quoted {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    quoted = false
                }
            } else if byte == UInt8(ascii: "\"") {
                quoted = true
            } else if byte == UInt8(ascii: "<") {
                sawBracket = true
            } else if byte == UInt8(ascii: ">") {
                parametersStart = index + 1
                break
            } else if byte == UInt8(ascii: ";"), !sawBracket {
                parametersStart = index
                break
            }
            index += 1
        }
        guard let parametersStart else { return false }
        // `;` name [ `=` value ], with linear whitespace allowed around both (§25.1 SEMI, EQUAL).
        for parameter in field[parametersStart...].split(separator: UInt8(ascii: ";")) {
            var start = parameter.startIndex
            var end = parameter.firstIndex(of: UInt8(ascii: "=")) ?? parameter.endIndex
            while start < end, Self.isWhitespace(parameter[start]) { start += 1 }
            while end > start, Self.isWhitespace(parameter[end - 1]) { end -= 1 }
            if end - start == 3, zip(parameter[start..<end], "tag".utf8).allSatisfy({ $0 | 0x20 == $1 }) { return true }
        }
        return false
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == 13 || byte == 10
    }

    private static func trimmed(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Range<Int> {
        var start = start
        var end = end
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return start..<end
    }
}
