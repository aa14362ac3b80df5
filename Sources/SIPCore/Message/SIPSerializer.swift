import NIOCore

/// Writes messages as RFC 3261 §7 text. Header fields parsed off the wire are written back as
/// they arrived; fields the server added are written as `Name: value`.
public enum SIPSerializer {
    public static func serialize(_ request: SIPRequest) -> [UInt8] {
        var buffer = [UInt8]()
        buffer.reserveCapacity(Self.estimatedSize(request.headers, body: request.body.count, startLine: request.rawRequestURI.count + 24))
        buffer.append(contentsOf: request.method.rawValue.utf8)
        buffer.append(ASCII.space)
        buffer.append(contentsOf: request.rawRequestURI)
        buffer.append(contentsOf: " SIP/2.0\r\n".utf8)
        Self.appendHeadersAndBody(request.headers, request.body, to: &buffer)
        return buffer
    }

    public static func serialize(_ response: SIPResponse) -> [UInt8] {
        var buffer = [UInt8]()
        buffer.reserveCapacity(Self.estimatedSize(response.headers, body: response.body.count, startLine: 16 + response.reasonPhrase.utf8.count))
        buffer.append(contentsOf: "SIP/2.0 ".utf8)
        buffer.append(contentsOf: String(response.statusCode).utf8)
        buffer.append(ASCII.space)
        // RFC 3261 §25.1: a Reason-Phrase has no control characters but HTAB. A reason that
        // quotes what a request carried (a tuple id, a URI) must not end the line and start a
        // header of the sender's choosing: each control character becomes a space.
        for byte in response.reasonPhrase.utf8 {
            buffer.append(byte < 0x20 && byte != 0x09 || byte == 0x7F ? ASCII.space : byte)
        }
        buffer.append(ASCII.cr)
        buffer.append(ASCII.lf)
        Self.appendHeadersAndBody(response.headers, response.body, to: &buffer)
        return buffer
    }

    public static func serialize(_ message: SIPMessage) -> [UInt8] {
        switch message {
        case .request(let request): return Self.serialize(request)
        case .response(let response): return Self.serialize(response)
        }
    }

    static func estimatedSize(_ headers: SIPHeaders, body: Int, startLine: Int) -> Int {
        var size = startLine + body + 2
        for field in headers.fields { size += field.line.count + 2 }
        return size
    }

    static func appendHeadersAndBody(_ headers: SIPHeaders, _ body: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        for field in headers.fields {
            buffer.append(contentsOf: field.line)
            buffer.append(ASCII.cr)
            buffer.append(ASCII.lf)
        }
        buffer.append(ASCII.cr)
        buffer.append(ASCII.lf)
        buffer.append(contentsOf: body)
    }
}

extension ByteBuffer {
    public mutating func writeSIPMessage(_ message: SIPMessage) {
        self.writeBytes(SIPSerializer.serialize(message))
    }
}
