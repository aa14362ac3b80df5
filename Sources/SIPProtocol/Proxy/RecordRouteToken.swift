import Crypto
import Foundation
import SIPCore

/// Proves that a Route entry naming Herald was put there by Herald's own Record-Route
/// (RFC 3261 §16.6 step 4 lets a proxy put any parameter in its Record-Route URI). The `hr`
/// parameter is an HMAC of the dialog's Call-ID under the server's key: an in-dialog request
/// whose Route names Herald without a valid token did not come through a dialog Herald
/// record-routed, and is treated as a relay attempt (§16.4; RFC 3261 §26.3.2.2 on open relays).
public struct RecordRouteToken: Sendable {
    public static let parameter = "hr"
    let secret: [UInt8]

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    public func token(callID: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(callID.utf8), using: SymmetricKey(data: self.secret))
        return code.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public func isValid(_ uri: SIPURI, callID: String) -> Bool {
        guard case .some(.some(let value)) = uri.parameter(Self.parameter) else { return false }
        return value == self.token(callID: callID)
    }

    /// Whether one of the Route entries at the top that name this server carries a valid token.
    public func routesThroughUs(_ request: SIPRequest, callID: String, identity: ServerIdentity) -> Bool {
        let routes = (try? request.routes()) ?? []
        return routes.prefix { identity.isOwnAddress($0.uri) }.contains { self.isValid($0.uri, callID: callID) }
    }
}
