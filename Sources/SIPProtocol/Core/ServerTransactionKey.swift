import SIPCore

/// Identifies a server transaction (RFC 3261 §17.2.3). With an RFC 3261 branch the key is the
/// branch, sent-by and method (ACK and CANCEL map to the INVITE they refer to only through
/// `forMethod`). Requests from RFC 2543 elements, without the magic cookie, are matched on the
/// Request-URI, tags, Call-ID, CSeq number and topmost Via instead.
public struct ServerTransactionKey: Hashable, Sendable, CustomStringConvertible {
    public let identity: String
    public let method: SIPMethod

    public init(essentials: RequestEssentials, method: SIPMethod) {
        let via = essentials.topVia
        if via.hasRFC3261Branch, let branch = via.branch {
            self.identity = "3261|" + branch + "|" + via.sentBy
        } else {
            self.identity = [
                "2543", essentials.requestURI.description, essentials.to.tag ?? "", essentials.from.tag ?? "",
                essentials.callID, String(essentials.cseq.sequenceNumber), via.description,
            ].joined(separator: "|")
        }
        self.method = method
    }

    /// The key of the INVITE transaction an ACK (for a non-2xx) or a CANCEL refers to
    /// (RFC 3261 §17.2.3, §9.2). For RFC 2543 requests the ACK's To tag is the one the
    /// response added, so the match drops it.
    public static func inviteKey(for essentials: RequestEssentials) -> ServerTransactionKey {
        var inviteEssentials = essentials
        if !essentials.topVia.hasRFC3261Branch { inviteEssentials.to.tag = nil }
        return ServerTransactionKey(essentials: inviteEssentials, method: .invite)
    }

    public var description: String { "\(self.method.rawValue) \(self.identity)" }
}

/// Detects a request that reached the server twice along different paths (RFC 3261
/// §8.2.2.2): same From tag, Call-ID and CSeq but a different transaction.
public struct MergedRequestKey: Hashable, Sendable {
    public let fromTag: String
    public let callID: String
    public let cseq: CSeq

    /// Nil when the rule does not apply: the request has a To tag (it is in a dialog) or no From tag.
    public init?(essentials: RequestEssentials) {
        guard essentials.to.tag == nil, let fromTag = essentials.from.tag else { return nil }
        self.fromTag = fromTag
        self.callID = essentials.callID
        self.cseq = essentials.cseq
    }
}
