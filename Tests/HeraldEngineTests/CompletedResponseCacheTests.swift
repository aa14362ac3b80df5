@testable import HeraldEngine
import SIPCore
import SIPProtocol
import Testing

struct CompletedResponseCacheTests {
    func key(_ branch: String, method: String = "SUBSCRIBE") throws -> ServerTransactionKey {
        let text = "\(method) sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK\(branch)\r\n"
            + "From: <sip:bob@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: c-\(branch)\r\nCSeq: 1 \(method)\r\n"
            + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        guard case .request(let request) = try SIPMessageParser.parse(Array(text.utf8)) else { throw SIPParseError(.malformedStartLine, "") }
        return ServerTransactionKey(essentials: try request.validate(), method: request.method)
    }

    @Test func keepsEachResponseUntilItsTimerJ() throws {
        var cache = CompletedResponseCache()
        cache.insert(key: try self.key("a"), response: Array("200 a".utf8), expiresAt: 100)
        cache.insert(key: try self.key("b"), response: Array("200 b".utf8), expiresAt: 200)
        #expect(cache.response(for: try self.key("a"), now: 50) == Array("200 a".utf8))
        #expect(cache.response(for: try self.key("b"), now: 50) == Array("200 b".utf8))
        #expect(cache.response(for: try self.key("c"), now: 50) == nil)
        // Same branch, other method: another transaction (RFC 3261 §17.2.3).
        #expect(cache.response(for: try self.key("a", method: "PUBLISH"), now: 50) == nil)
        #expect(cache.response(for: try self.key("a"), now: 100) == nil)  // Timer J has fired
        cache.expire(now: 150)
        #expect(cache.count == 1)
        #expect(cache.response(for: try self.key("b"), now: 150) == Array("200 b".utf8))
        cache.expire(now: 200)
        #expect(cache.count == 0)
    }

    @Test func chunksAreDroppedOnceTheirRecordsExpire() throws {
        var cache = CompletedResponseCache()
        let response = [UInt8](repeating: 0x41, count: 1000)
        // Enough records for several chunks, each expiring one tick after the previous.
        let count = 3 * CompletedResponseCache.chunkSize / 1000
        for index in 0..<count {
            cache.insert(key: try self.key("k\(index)"), response: response, expiresAt: Int64(index + 1))
        }
        #expect(cache.count == count)
        cache.expire(now: Int64(count / 2))
        #expect(cache.count == count - count / 2)
        #expect(cache.response(for: try self.key("k\(count - 1)"), now: Int64(count / 2)) == response)
        cache.expire(now: Int64(count))
        #expect(cache.count == 0)
        // Records added after everything expired are found again.
        cache.insert(key: try self.key("late"), response: response, expiresAt: Int64(count + 10))
        #expect(cache.response(for: try self.key("late"), now: Int64(count + 1)) == response)
    }

    @Test func aRecordLargerThanAChunkFits() throws {
        var cache = CompletedResponseCache()
        let big = [UInt8](repeating: 0x42, count: CompletedResponseCache.chunkSize + 10)
        cache.insert(key: try self.key("big"), response: big, expiresAt: 10)
        cache.insert(key: try self.key("small"), response: [1, 2, 3], expiresAt: 20)
        #expect(cache.response(for: try self.key("big"), now: 0) == big)
        #expect(cache.response(for: try self.key("small"), now: 0) == [1, 2, 3])
        cache.expire(now: 15)
        #expect(cache.response(for: try self.key("small"), now: 15) == [1, 2, 3])
    }
}
