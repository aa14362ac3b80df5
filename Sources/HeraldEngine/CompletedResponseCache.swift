import SIPCore
import SIPProtocol

/// The last responses of completed non-INVITE server transactions over unreliable transports.
///
/// RFC 3261 §17.2.2 keeps such a transaction in the Completed state until Timer J (64·T1 =
/// 32 s) so that a retransmitted request gets the same final response again and is not
/// processed twice. All it needs for that is its key and the response bytes; keeping the
/// whole transaction object meant that a burst of 4,000 SUBSCRIBEs/s held 128,000 of them,
/// allocated in between the subscriptions the burst created, which pinned their pages long
/// after (BENCHMARKS.md, issue 6). Here each completed transaction is one record appended to
/// large chunks: every record lives exactly Timer J, so they expire in the order they were
/// added, a chunk is dropped as a whole once its last record has expired, and nothing is
/// allocated per transaction but a slot in the index.
///
/// Record layout: expiry (8 bytes, little-endian nanoseconds), key length (4), response length
/// (4), key bytes, response bytes.
struct CompletedResponseCache {
    struct Location: Equatable {
        var chunk: Int
        var offset: Int
    }

    static let chunkSize = 256 * 1024
    private static let headerSize = 16

    /// Chunks from the oldest still holding a live record; `firstChunk` numbers `chunks[0]`.
    private var chunks: [[UInt8]] = []
    private var firstChunk = 0
    /// Where the oldest record not yet expired starts.
    private var head = Location(chunk: 0, offset: 0)
    /// Records by the hash of their key; a hit is confirmed by comparing the key bytes.
    private var index: [UInt64: Location] = [:]

    var count: Int { self.index.count }

    /// Keeps `response` for `key` until `expiresAt` (nanoseconds on the engine's clock).
    mutating func insert(key: ServerTransactionKey, response: [UInt8], expiresAt: Int64) {
        let identity = key.identity.utf8
        let method = key.method.rawValue.utf8
        let keyLength = identity.count + 1 + method.count
        let size = Self.headerSize + keyLength + response.count
        if self.chunks.isEmpty || self.chunks[self.chunks.count - 1].count + size > max(Self.chunkSize, size) {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(Self.chunkSize, size))
            self.chunks.append(chunk)
        }
        let last = self.chunks.count - 1
        let location = Location(chunk: self.firstChunk + last, offset: self.chunks[last].count)
        Self.append(UInt64(bitPattern: expiresAt), bytes: 8, to: &self.chunks[last])
        Self.append(UInt64(keyLength), bytes: 4, to: &self.chunks[last])
        Self.append(UInt64(response.count), bytes: 4, to: &self.chunks[last])
        self.chunks[last].append(contentsOf: identity)
        self.chunks[last].append(0)
        self.chunks[last].append(contentsOf: method)
        self.chunks[last].append(contentsOf: response)
        self.index[Self.hash(of: key)] = location
    }

    /// The response kept for `key`, if its transaction completed less than Timer J ago. Asked
    /// for every new request over UDP, so the key is compared in place: nothing is allocated
    /// unless a response is found.
    func response(for key: ServerTransactionKey, now: Int64) -> [UInt8]? {
        guard let location = self.index[Self.hash(of: key)], let chunk = self.chunk(location.chunk) else { return nil }
        let header = self.header(in: chunk, at: location.offset)
        let identity = key.identity.utf8
        let method = key.method.rawValue.utf8
        guard header.expiresAt > now, header.keyLength == identity.count + 1 + method.count else { return nil }
        let keyStart = location.offset + Self.headerSize
        let methodStart = keyStart + identity.count + 1
        guard chunk[keyStart..<methodStart - 1].elementsEqual(identity), chunk[methodStart - 1] == 0,
            chunk[methodStart..<keyStart + header.keyLength].elementsEqual(method)
        else { return nil }
        let responseStart = keyStart + header.keyLength
        return Array(chunk[responseStart..<responseStart + header.responseLength])
    }

    /// Forgets every record whose Timer J has fired and drops the chunks left empty.
    mutating func expire(now: Int64) {
        while let chunk = self.chunk(self.head.chunk) {
            guard self.head.offset < chunk.count else {
                // The head chunk is exhausted: drop it unless records are still being added to it.
                guard self.head.chunk - self.firstChunk < self.chunks.count - 1 else { return }
                self.chunks.removeFirst()
                self.firstChunk += 1
                self.head = Location(chunk: self.firstChunk, offset: 0)
                continue
            }
            let header = self.header(in: chunk, at: self.head.offset)
            guard header.expiresAt <= now else { return }
            let keyStart = self.head.offset + Self.headerSize
            let hash = FNV1a.hash(chunk[keyStart..<keyStart + header.keyLength])
            if self.index[hash] == self.head { self.index[hash] = nil }
            self.head.offset = keyStart + header.keyLength + header.responseLength
        }
    }

    /// Gives back the index's capacity after a burst (Swift dictionaries keep their peak size).
    mutating func compact() {
        self.index.releaseUnusedCapacity()
    }

    private func chunk(_ number: Int) -> [UInt8]? {
        let position = number - self.firstChunk
        return position >= 0 && position < self.chunks.count ? self.chunks[position] : nil
    }

    private func header(in chunk: [UInt8], at offset: Int) -> (expiresAt: Int64, keyLength: Int, responseLength: Int) {
        (Int64(bitPattern: Self.read(chunk, offset, bytes: 8)), Int(Self.read(chunk, offset + 8, bytes: 4)), Int(Self.read(chunk, offset + 12, bytes: 4)))
    }

    /// The hash of a key as it is stored: identity, NUL, method.
    private static func hash(of key: ServerTransactionKey) -> UInt64 {
        var hash = FNV1a()
        hash.add(key.identity.utf8)
        hash.add(CollectionOfOne(0))
        hash.add(key.method.rawValue.utf8)
        return hash.value
    }

    private static func append(_ value: UInt64, bytes: Int, to chunk: inout [UInt8]) {
        for shift in 0..<bytes { chunk.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    private static func read(_ chunk: [UInt8], _ offset: Int, bytes: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<bytes { value |= UInt64(chunk[offset + shift]) << (8 * UInt64(shift)) }
        return value
    }
}
