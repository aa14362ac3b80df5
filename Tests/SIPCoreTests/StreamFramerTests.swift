import Testing
@testable import SIPCore

@Suite struct StreamFramerTests {
    static let options = Array("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 4\r\n\r\nbody".utf8)

    @Test func messageFedByteByByteIsFramedOnce() throws {
        var framer = SIPStreamFramer()
        var frames = [SIPStreamFramer.Frame]()
        for byte in Self.options {
            framer.append([byte])
            while let frame = try framer.next() { frames.append(frame) }
        }
        #expect(frames == [.message(Self.options)])
    }

    @Test func coalescedMessagesAndKeepAlivesAreSeparated() throws {
        var framer = SIPStreamFramer()
        framer.append(Self.options + Array("\r\n\r\n".utf8) + Self.options + Array("\r\n".utf8))
        #expect(try framer.next() == .message(Self.options))
        #expect(try framer.next() == .keepAlivePing)
        #expect(try framer.next() == .message(Self.options))
        #expect(try framer.next() == nil)
        #expect(framer.bufferedByteCount == 2)
    }

    @Test func incompleteBodyWaitsForMoreBytes() throws {
        var framer = SIPStreamFramer()
        framer.append(Self.options.dropLast(2))
        #expect(try framer.next() == nil)
        framer.append(Self.options.suffix(2))
        #expect(try framer.next() == .message(Self.options))
    }

    @Test func negativeOrDuplicateContentLengthIsUnrecoverable() {
        var negative = SIPStreamFramer()
        negative.append(Array("INVITE sip:a@b SIP/2.0\r\nContent-Length: -999\r\n\r\n".utf8))
        #expect(throws: SIPStreamFramer.FramingError.self) { try negative.next() }
        var duplicate = SIPStreamFramer()
        duplicate.append(Array("INVITE sip:a@b SIP/2.0\r\nContent-Length: 3\r\nl: 4\r\n\r\n".utf8))
        #expect(throws: SIPStreamFramer.FramingError.self) { try duplicate.next() }
    }

    @Test func oversizedHeaderSectionIsUnrecoverable() {
        var framer = SIPStreamFramer(limits: SIPParserLimits(maxMessageSize: 100))
        framer.append([UInt8](repeating: UInt8(ascii: "a"), count: 200))
        #expect(throws: SIPStreamFramer.FramingError.self) { try framer.next() }
    }
}

@Suite struct ParserLimitTests {
    @Test func tooManyHeadersIsNamedInTheError() {
        var text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        for index in 0..<20 { text += "X-Filler: \(index)\r\n" }
        text += "\r\n"
        #expect {
            try SIPMessageParser.parse(Array(text.utf8), limits: SIPParserLimits(maxHeaderCount: 10))
        } throws: { error in
            guard let failure = error as? SIPParseFailure else { return false }
            return failure.error.code == .tooManyHeaders && failure.partialRequest != nil
        }
    }

    @Test func oversizedMessageIsAnsweredWith513() {
        let text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Big: \(String(repeating: "x", count: 300))\r\n\r\n"
        #expect {
            try SIPMessageParser.parse(Array(text.utf8), limits: SIPParserLimits(maxMessageSize: 200))
        } throws: { error in
            (error as? SIPParseFailure)?.error.statusCode == 513
        }
    }

    @Test func garbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<300, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) { bytes = Array("INVITE sip:a@b SIP/2.0\r\n".utf8) + bytes }
            if case .request(let request)? = try? SIPMessageParser.parse(bytes) { _ = try? request.validate() }
        }
    }
}
