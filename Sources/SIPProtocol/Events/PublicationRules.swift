/// Event state publication (RFC 3903 §6): what a PUBLISH asks for, decided from its
/// SIP-If-Match, Expires and body.
public enum PublicationRequest: Sendable, Equatable {
    case initial
    case refresh(entityTag: String)
    case modify(entityTag: String)
    case remove(entityTag: String)
}

public enum PublicationRules {
    public enum Rejection: Error, Sendable, Equatable {
        case badRequest(String)
        case intervalTooBrief(minExpires: UInt32)
    }

    /// RFC 3903 §6 steps 3-5. Returns the kind of request and the granted lifetime in seconds
    /// (0 for a removal).
    public static func classify(ifMatch: String?, expires: UInt32?, hasBody: Bool, policy: ExpiryPolicy)
        throws(Rejection) -> (PublicationRequest, UInt32)
    {
        let requested = expires ?? policy.defaultExpires
        if requested > 0, requested < policy.minExpires { throw .intervalTooBrief(minExpires: policy.minExpires) }
        let granted = min(requested, policy.maxExpires)
        guard let entityTag = ifMatch?.trimmingSpaces, !entityTag.isEmpty else {
            guard hasBody else { throw .badRequest("Bad Request: PUBLISH without SIP-If-Match needs a body") }
            guard granted > 0 else { throw .badRequest("Bad Request: initial PUBLISH with Expires 0") }
            return (.initial, granted)
        }
        if granted == 0 { return (.remove(entityTag: entityTag), 0) }
        return (hasBody ? .modify(entityTag: entityTag) : .refresh(entityTag: entityTag), granted)
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
