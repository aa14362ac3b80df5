import Testing
@testable import SIPProtocol

@Suite struct DigestHA1Tests {
    /// RFC 2617 §3.5 example credentials: HA1 is the well-known 939e7578….
    @Test func md5MatchesRFC2617Example() {
        #expect(DigestHA1.md5(username: "Mufasa", realm: "testrealm@host.com", password: "Circle Of Life")
            == "939e7578ed9e3c518a452acee763bce9")
    }

    /// RFC 7616 §3.9.1 example credentials (user Mufasa, realm http-auth@example.org).
    @Test func sha256MatchesRFC7616ExampleCredentials() {
        #expect(DigestHA1.sha256(username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life")
            == "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232")
        #expect(DigestHA1.md5(username: "Mufasa", realm: "http-auth@example.org", password: "Circle of Life")
            == "3d78807defe7de2157e2b0b6573a855f")
    }
}
