import Crypto

/// Digest HA1 values (RFC 7616 §3.4.2): `H(username ":" realm ":" password)`, kept instead of
/// passwords so that a leaked store does not reveal them. Herald's realm is the user's domain.
public enum DigestHA1 {
    public static func md5(username: String, realm: String, password: String) -> String {
        Self.hex(Insecure.MD5.hash(data: Array("\(username):\(realm):\(password)".utf8)))
    }

    public static func sha256(username: String, realm: String, password: String) -> String {
        Self.hex(SHA256.hash(data: Array("\(username):\(realm):\(password)".utf8)))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var result = ""
        result.reserveCapacity(64)
        for byte in digest {
            result.append(Self.hexDigits[Int(byte >> 4)])
            result.append(Self.hexDigits[Int(byte & 0x0F)])
        }
        return result
    }

    private static let hexDigits: [Character] = Array("0123456789abcdef")
}
