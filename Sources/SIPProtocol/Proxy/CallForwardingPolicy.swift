/// Why a call is diverted to a user's forwarding target (seed 004's four options), with the
/// cause values of RFC 4458 §2 that Herald puts in History-Info (RFC 7044 §9.2 `cause`).
public enum DiversionReason: String, Sendable, Equatable {
    case unconditional
    case busy
    case noAnswer = "no-answer"
    case unreachable

    /// RFC 4458 §2 cause codes: 302 unconditional, 486 user busy, 408 no reply, 503 not reachable.
    public var cause: Int {
        switch self {
        case .unconditional: 302
        case .busy: 486
        case .noAnswer: 408
        case .unreachable: 503
        }
    }
}

/// Which divert condition an unanswered call meets once every branch has ended (§16.7 step 6
/// is where a proxy would otherwise pick the best response).
public enum CallForwardingPolicy {
    /// At most this many diversions for one request (History-Info entries), so that two users
    /// forwarding to each other cannot loop.
    public static let maximumDiversions = 5

    /// - Parameters:
    ///   - finalStatuses: the branches' final responses (none answered 2xx).
    ///   - noAnswerTimerFired: the user's no-answer time ran out and the branches were cancelled.
    ///   - hadContacts: whether the user had any contact to try.
    ///   - cancelledByCaller: the caller gave up; nothing is diverted then.
    public static func reason(finalStatuses: [Int], noAnswerTimerFired: Bool, hadContacts: Bool, cancelledByCaller: Bool) -> DiversionReason? {
        if cancelledByCaller { return nil }
        if !hadContacts { return .unreachable }
        if noAnswerTimerFired { return .noAnswer }
        if finalStatuses.contains(where: { $0 == 486 || $0 == 600 }) { return .busy }
        // Nobody answered at all, or every contact was out of reach (transaction timeouts,
        // transport errors and 480/503 from an edge proxy).
        let unreachable: Set<Int> = [408, 480, 503]
        if finalStatuses.allSatisfy({ unreachable.contains($0) }) { return .unreachable }
        return nil
    }
}
