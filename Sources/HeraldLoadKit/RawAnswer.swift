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
    /// Where the request's body starts in its bytes (its end when there is no body).
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
            func named(_ text: String) -> Bool {
                name.count == text.utf8.count && zip(name, text.utf8).allSatisfy { $0 | 0x20 == $1 }
            }
            if named("via") || named("v") {
                self = .via
            } else if named("from") || named("f") {
                self = .from
            } else if named("to") || named("t") {
                self = .to
            } else if named("call-id") || named("i") {
                self = .callID
            } else if named("cseq") {
                self = .cseq
            } else {
                return nil
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

    private static func containsTag(_ line: ArraySlice<UInt8>) -> Bool {
        let pattern = Array(";tag=".utf8)
        guard line.count >= pattern.count else { return false }
        var index = line.startIndex
        while index + pattern.count <= line.endIndex {
            if zip(line[index..<index + pattern.count], pattern).allSatisfy({ $0 | 0x20 == $1 }) { return true }
            index += 1
        }
        return false
    }

    private static func trimmed(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Range<Int> {
        var start = start
        var end = end
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return start..<end
    }
}
