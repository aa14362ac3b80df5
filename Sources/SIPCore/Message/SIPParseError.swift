/// A message that does not follow the RFC 3261 §25 grammar, or breaks a rule a receiver
/// must enforce. `reason` becomes the reason phrase of the 400 (or 505) that answers it.
public struct SIPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case malformedStartLine
        case unsupportedVersion
        case malformedRequestURI
        case malformedHeader
        case missingHeader
        case duplicateHeader
        case malformedHeaderValue
        case cseqMethodMismatch
        case contentLengthMismatch
        case bodyIncomplete
        case headersIncomplete
        case messageTooLarge
        case tooManyHeaders
        case malformedBody
    }

    public var code: Code
    /// Names the problem for a human reading the reason phrase, e.g. `Malformed Via header`.
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The status a server answers with: 505 for an unknown SIP version (RFC 3261 §8.2.2 hints
    /// at 505 in §21.5.6), 513 for an oversized message (§21.5.14), 400 for everything else.
    public var statusCode: Int {
        switch self.code {
        case .unsupportedVersion: return 505
        case .messageTooLarge: return 513
        default: return 400
        }
    }

    public var description: String { self.reason }
}
