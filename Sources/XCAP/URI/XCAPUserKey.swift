/// A normalized form of an XCAP user identifier (XUI), for use as a storage key.
///
/// RFC 4825 §6.2 recommends that the XUI be the user's SIP AOR. SIP URI comparison
/// (RFC 3261 §19.1.4) ignores the case of the scheme and of the host but not of the user part,
/// so `sip:+339012341234@Test-rcs.com` and `SIP:+339012341234@test-rcs.com` are one user while
/// `sip:Alice@host` and `sip:alice@host` are two.
public enum XCAPUserKey {
    /// The XUI with its scheme and host part lowercased and everything else kept.
    ///
    /// - `sip:+33…@Test-rcs.com` → `sip:+33…@test-rcs.com`
    /// - `sip:Example.COM` (no user part) → `sip:example.com`
    /// - `tel:+331234` → unchanged; an XUI that is not a URI (`alice`) → unchanged.
    /// Parameters and headers after the host (`;…`, `?…`) are kept as written.
    public static func normalize(_ xui: String) -> String {
        guard let colon = xui.firstIndex(of: ":") else { return xui }
        let scheme = xui[..<colon].lowercased()
        let rest = xui[xui.index(after: colon)...]
        guard scheme == "sip" || scheme == "sips" || scheme == "pres" || scheme == "im" || scheme == "mailto" else {
            return scheme + ":" + rest
        }
        let hostStart = rest.lastIndex(of: "@").map { rest.index(after: $0) } ?? rest.startIndex
        let hostEnd = rest[hostStart...].firstIndex { $0 == ";" || $0 == "?" } ?? rest.endIndex
        return scheme + ":" + rest[..<hostStart] + rest[hostStart..<hostEnd].lowercased() + rest[hostEnd...]
    }
}
