import SIPCore

/// Proxy decisions of RFC 3261 §16 that do not need the network.
public enum ProxyRules {
    /// Groups targets for forking (§16.6, §16.7 and RFC 3261 §16.6 "q-value"): contacts with
    /// equal q are tried in parallel, groups in decreasing q; no q counts as 1.0.
    public static func forkingGroups<Target>(_ targets: [Target], q: (Target) -> Double?) -> [[Target]] {
        var groups: [(Double, [Target])] = []
        for target in targets {
            let value = q(target) ?? 1.0
            if let index = groups.firstIndex(where: { $0.0 == value }) {
                groups[index].1.append(target)
            } else {
                groups.append((value, [target]))
            }
        }
        return groups.sorted { $0.0 > $1.0 }.map(\.1)
    }

    /// The response to send upstream once every branch has a final response (§16.7 step 6): any
    /// 6xx; otherwise the lowest class, preferring within it the first received; 503 is
    /// passed on as 500 (§16.7 step 6: a 503 must not be forwarded). Nil with no responses
    /// means 408 (every branch timed out).
    public static func bestResponseIndex(_ statusCodes: [Int]) -> Int? {
        guard !statusCodes.isEmpty else { return nil }
        if let global = statusCodes.firstIndex(where: { $0 >= 600 }) { return global }
        var best = 0
        for (index, code) in statusCodes.enumerated() where code / 100 < statusCodes[best] / 100 { best = index }
        return best
    }

    /// A branch id that starts with a hash of the fields RFC 3261 §16.6 step 8 names, so a
    /// request that comes back carries it and can be recognised as a loop (§16.3 step 4).
    public static func loopHash(requestURI: String, fromTag: String?, toTag: String?, callID: String, cseq: UInt32) -> String {
        String(FNV1a.hash("\(requestURI)|\(fromTag ?? "")|\(toTag ?? "")|\(callID)|\(cseq)".utf8), radix: 36)
    }

    /// §16.3 step 4: the request already went through this proxy with the same loop hash.
    public static func isLoop(vias: [Via], ownSentBy: Set<String>, loopHash: String) -> Bool {
        vias.contains { via in
            ownSentBy.contains(via.sentBy) && (via.branch?.hasPrefix(Via.magicCookie + loopHash + ".") ?? false)
        }
    }
}
