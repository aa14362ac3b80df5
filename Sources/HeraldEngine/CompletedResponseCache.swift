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
        let keyBytes = Self.bytes(of: key)
        let size = Self.headerSize + keyBytes.count + response.count
        if self.chunks.isEmpty || self.chunks[self.chunks.count - 1].count + size > max(Self.chunkSize, size) {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(max(Self.chunkSize, size))
            self.chunks.append(chunk)
        }
        let last = self.chunks.count - 1
        let location = Location(chunk: self.firstChunk + last, offset: self.chunks[last].count)
        Self.append(UInt64(bitPattern: expiresAt), bytes: 8, to: &self.chunks[last])
        Self.append(UInt64(keyBytes.count), bytes: 4, to: &self.chunks[last])
        Self.append(UInt64(response.count), bytes: 4, to: &self.chunks[last])
        self.chunks[last].append(contentsOf: keyBytes)
        self.chunks[last].append(contentsOf: response)
        self.index[Self.hash(keyBytes)] = location
    }

    /// The response kept for `key`, if its transaction completed less than Timer J ago.
    func response(for key: ServerTransactionKey, now: Int64) -> [UInt8]? {
        let keyBytes = Self.bytes(of: key)
        guard let location = self.index[Self.hash(keyBytes)], let chunk = self.chunk(location.chunk) else { return nil }
        let header = self.header(in: chunk, at: location.offset)
        guard header.expiresAt > now, header.keyLength == keyBytes.count else { return nil }
        let keyStart = location.offset + Self.headerSize
        guard chunk[keyStart..<keyStart + header.keyLength].elementsEqual(keyBytes) else { return nil }
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
            let hash = Self.hash(chunk[keyStart..<keyStart + header.keyLength])
            if self.index[hash] == self.head { self.index[hash] = nil }
            self.head.offset = keyStart + header.keyLength + header.responseLength
        }
    }

    /// Gives back the index's capacity after a burst (Swift dictionaries keep their peak size).
    mutating func compact() {
        SIPEngine.shrink(&self.index)
    }

    private func chunk(_ number: Int) -> [UInt8]? {
        let position = number - self.firstChunk
        return position >= 0 && position < self.chunks.count ? self.chunks[position] : nil
    }

    private func header(in chunk: [UInt8], at offset: Int) -> (expiresAt: Int64, keyLength: Int, responseLength: Int) {
        (Int64(bitPattern: Self.read(chunk, offset, bytes: 8)), Int(Self.read(chunk, offset + 8, bytes: 4)), Int(Self.read(chunk, offset + 12, bytes: 4)))
    }

    private static func bytes(of key: ServerTransactionKey) -> [UInt8] {
        Array(key.identity.utf8) + [0] + Array(key.method.rawValue.utf8)
    }

    /// FNV-1a, 64 bits: cheap, and a collision only costs a miss (the key bytes are compared).
    private static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return hash
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
