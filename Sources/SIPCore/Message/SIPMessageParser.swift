#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Explicit limits on what the parser accepts (RFC 3261 §18.1.1 leaves them to the server).
public struct SIPParserLimits: Sendable, Equatable {
    public var maxMessageSize: Int
    public var maxHeaderCount: Int

    public init(maxMessageSize: Int = 65_535, maxHeaderCount: Int = 128) {
        self.maxMessageSize = maxMessageSize
        self.maxHeaderCount = maxHeaderCount
    }
}

/// A message the parser rejected. When the start line and header section could be split,
/// `partialRequest` holds what was read, so a server can still answer a request it can route
/// a response for (RFC 3261 §8.2: a malformed request gets a 400 where possible).
public struct SIPParseFailure: Error, Sendable {
    public var error: SIPParseError
    public var partialRequest: SIPRequest?
    public var isResponse: Bool
}

/// Splits a complete message — one UDP datagram, or one message cut from a stream by
/// `SIPStreamFramer` — into start line, raw header fields and body, in one pass over the bytes.
/// Header values are interpreted later, on use.
public enum SIPMessageParser {
    public static func parse(_ bytes: [UInt8], limits: SIPParserLimits = SIPParserLimits()) throws(SIPParseFailure) -> SIPMessage {
        let split: SplitMessage
        do {
            split = try bytes.withUnsafeBufferPointer { buffer throws(SIPParseError) in
                try Self.split(buffer, bytes: bytes, limits: limits)
            }
        } catch {
            throw SIPParseFailure(error: error, partialRequest: nil, isResponse: false)
        }
        let headers = SIPHeaders(fields: split.fields)
        var firstError = split.error
        if firstError == nil, bytes.count > limits.maxMessageSize {
            firstError = SIPParseError(.messageTooLarge, "Message Too Large: over \(limits.maxMessageSize) bytes")
        }
        var body = bytes[split.bodyStart...]
        if firstError == nil {
            do throws(SIPParseError) {
                if let length = try Self.contentLength(headers) {
                    if length <= body.count {
                        body = body.prefix(length)
                    } else {
                        firstError = SIPParseError(.bodyIncomplete, "Content-Length larger than the message body")
                    }
                }
            } catch {
                firstError = error
            }
        }
        switch split.startLine {
        case .response(let code, let reason):
            if let firstError { throw SIPParseFailure(error: firstError, partialRequest: nil, isResponse: true) }
            return .response(SIPResponse(statusCode: code, reasonPhrase: reason, headers: headers, body: Array(body)))
        case .request(let methodRange, let uriRange):
            let method = bytes[methodRange].withUnsafeBufferPointer { SIPMethod.fromBytes($0) }
            let request = SIPRequest(method: method, rawRequestURI: bytes[uriRange], headers: headers, body: body)
            if let firstError { throw SIPParseFailure(error: firstError, partialRequest: request, isResponse: false) }
            return .request(request)
        case .malformedRequest:
            let request = SIPRequest(method: SIPMethod("UNKNOWN"), rawRequestURI: [], headers: headers, body: body)
            throw SIPParseFailure(
                error: firstError ?? SIPParseError(.malformedStartLine, "Malformed Request-Line"),
                partialRequest: request, isResponse: false)
        case .malformedResponse:
            throw SIPParseFailure(
                error: firstError ?? SIPParseError(.malformedStartLine, "Malformed Status-Line"), partialRequest: nil,
                isResponse: true)
        }
    }

    static func contentLength(_ headers: SIPHeaders) throws(SIPParseError) -> Int? {
        var result: Int?
        for field in headers.fields where field.known == .contentLength {
            guard result == nil else { throw SIPParseError(.duplicateHeader, "Multiple Content-Length headers") }
            guard let value = DecimalParsing.parse(field.rawValue, limit: UInt64(Int32.max)) else {
                throw SIPParseError(.malformedHeaderValue, "Malformed Content-Length header")
            }
            result = Int(value)
        }
        return result
    }

    enum StartLine {
        case request(method: Range<Int>, uri: Range<Int>)
        case response(code: Int, reason: String)
        case malformedRequest
        case malformedResponse
    }

    struct SplitMessage {
        var startLine: StartLine
        var fields: [SIPHeaderField]
        var bodyStart: Int
        var error: SIPParseError?
    }

    /// Finds the end of the line starting at `start`: the index of its LF (or the buffer end),
    /// and the end of its content with a preceding CR removed.
    @inline(__always)
    static func lineEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> (content: Int, next: Int)? {
        guard start < buffer.count, let base = buffer.baseAddress,
            let found = memchr(base + start, Int32(ASCII.lf), buffer.count - start)
        else { return nil }
        // memchr is vectorised: the line scan is most of the work of splitting a message.
        let index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        let content = index > start && buffer[index - 1] == ASCII.cr ? index - 1 : index
        return (content, index + 1)
    }

    /// `buffer` is `bytes`' storage: scanning uses the pointer, fields keep slices of the array.
    static func split(
        _ buffer: UnsafeBufferPointer<UInt8>, bytes: [UInt8], limits: SIPParserLimits
    ) throws(SIPParseError) -> SplitMessage {
        var index = 0
        // RFC 3261 §7.5: CRLFs before the start line are ignored.
        while index < buffer.count, buffer[index] == ASCII.cr || buffer[index] == ASCII.lf { index += 1 }
        guard index < buffer.count, let first = Self.lineEnd(buffer, from: index) else {
            throw SIPParseError(.headersIncomplete, "Incomplete message: no start line")
        }
        var error: SIPParseError?
        let startLine = Self.parseStartLine(buffer, start: index, end: first.content, error: &error)
        var fields = [SIPHeaderField]()
        fields.reserveCapacity(20)
        // The field being read: kept open until the next line shows whether it is folded.
        var pending: (known: KnownHeader?, start: Int, end: Int, nameEnd: Int, valueStart: Int)?
        func closePending() {
            if let field = pending {
                fields.append(
                    SIPHeaderField(known: field.known, line: bytes[field.start..<field.end], nameEnd: field.nameEnd, valueStart: field.valueStart))
                pending = nil
            }
        }
        index = first.next
        var bodyStart = buffer.count
        var terminated = false
        while index < buffer.count {
            let line = Self.lineEnd(buffer, from: index) ?? (buffer.count, buffer.count)
            if line.content == index {
                closePending()
                bodyStart = line.next
                terminated = true
                break
            }
            let byte = buffer[index]
            if byte == ASCII.space || byte == ASCII.tab {
                // Folded continuation of the previous header line (RFC 3261 §7.3.1).
                if pending == nil {
                    error = error ?? SIPParseError(.malformedHeader, "Malformed header: continuation line without a header")
                } else {
                    pending?.end = line.content
                }
                index = line.next
                continue
            }
            closePending()
            if fields.count >= limits.maxHeaderCount {
                error = error ?? SIPParseError(.tooManyHeaders, "Too many headers: more than \(limits.maxHeaderCount)")
                break
            }
            var nameEnd = index
            while nameEnd < line.content, ASCII.isToken(buffer[nameEnd]) { nameEnd += 1 }
            var colon = nameEnd
            while colon < line.content, ASCII.isWhitespace(buffer[colon]) { colon += 1 }
            guard nameEnd > index, colon < line.content, buffer[colon] == ASCII.colon else {
                error = error ?? SIPParseError(.malformedHeader, "Malformed header line: no header name and colon")
                index = line.next
                continue
            }
            var valueStart = colon + 1
            while valueStart < line.content, ASCII.isWhitespace(buffer[valueStart]) { valueStart += 1 }
            let known = KnownHeader.identify(UnsafeBufferPointer(rebasing: buffer[index..<nameEnd]))
            pending = (known, index, line.content, nameEnd, valueStart)
            index = line.next
        }
        closePending()
        if !terminated, error == nil {
            error = SIPParseError(.headersIncomplete, "Incomplete header section: no empty line after the headers")
        }
        return SplitMessage(startLine: startLine, fields: fields, bodyStart: min(bodyStart, buffer.count), error: error)
    }

    static let sipVersion = Array("sip/2.0".utf8)
    static let sipVersionSpace = Array("sip/2.0 ".utf8)
    static let sipSlash = Array("sip/".utf8)

    /// `Request-Line = Method SP Request-URI SP SIP-Version` and
    /// `Status-Line = SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.1, §7.2).
    static func parseStartLine(
        _ buffer: UnsafeBufferPointer<UInt8>, start: Int, end: Int, error: inout SIPParseError?
    ) -> StartLine {
        let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
        if line.starts(with: "SIP/".utf8) {
            return Self.parseStatusLine(line, error: &error)
        }
        guard let firstSpace = line.firstIndex(of: ASCII.space),
            let lastSpace = line.lastIndex(of: ASCII.space), lastSpace > firstSpace
        else {
            error = SIPParseError(.malformedStartLine, "Malformed Request-Line")
            return .malformedRequest
        }
        let method = line[0..<firstSpace]
        guard method.allSatisfy(ASCII.isToken) else {
            error = SIPParseError(.malformedStartLine, "Malformed Request-Line: invalid method")
            return .malformedRequest
        }
        let version = line[(lastSpace + 1)...]
        let uri = (firstSpace + 1)..<lastSpace
        if version.isEmpty {
            error = SIPParseError(.malformedStartLine, "Malformed Request-Line: trailing whitespace")
        } else if !ASCII.equalsIgnoringCase(version, Self.sipVersion) {
            if version.count > 4, ASCII.equalsIgnoringCase(version.prefix(4), Self.sipSlash) {
                error = SIPParseError(.unsupportedVersion, "Version Not Supported")
            } else {
                error = SIPParseError(.malformedStartLine, "Malformed Request-Line: bad SIP-Version")
            }
        } else if uri.isEmpty || line[uri].contains(where: { $0 == ASCII.space || $0 == ASCII.tab }) {
            error = SIPParseError(.malformedStartLine, "Malformed Request-Line: whitespace in or around the Request-URI")
        }
        return .request(method: (start)..<(start + firstSpace), uri: (start + uri.lowerBound)..<(start + uri.upperBound))
    }

    static func parseStatusLine(_ line: UnsafeBufferPointer<UInt8>, error: inout SIPParseError?) -> StartLine {
        // "SIP/2.0 " + 3 digits + SP (the reason phrase may be empty, RFC 4475 §3.1.1.13).
        guard line.count >= 11, ASCII.equalsIgnoringCase(line[0..<8], Self.sipVersionSpace),
            ASCII.isDigit(line[8]), ASCII.isDigit(line[9]), ASCII.isDigit(line[10]),
            line.count == 11 || line[11] == ASCII.space
        else {
            error = SIPParseError(.malformedStartLine, "Malformed Status-Line")
            return .malformedResponse
        }
        let code = Int(line[8] - 48) * 100 + Int(line[9] - 48) * 10 + Int(line[10] - 48)
        guard (100...699).contains(code) else {
            error = SIPParseError(.malformedStartLine, "Malformed Status-Line: status code out of range")
            return .malformedResponse
        }
        return .response(code: code, reason: line.count > 12 ? String(sipBytes: line[12...]) : "")
    }
}
