/// FNV-1a, 64 bits: a cheap, stable, non-cryptographic hash for the places that need the same
/// value across runs or a fast index key (loop-detection branches, watcher ids, generated
/// document tags, the completed-transaction index). Not for anything an attacker must not
/// be able to collide.
public struct FNV1a: Sendable {
    public var value: UInt64 = 0xcbf2_9ce4_8422_2325

    @inlinable public init() {}

    /// Inlinable so that callers in other modules get a loop specialised for their byte
    /// sequence (the completed-response index hashes every new UDP request's key).
    @inlinable public mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            self.value ^= UInt64(byte)
            self.value &*= 0x100_0000_01b3
        }
    }

    /// The hash of `bytes` alone.
    @inlinable public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash = FNV1a()
        hash.add(bytes)
        return hash.value
    }
}
