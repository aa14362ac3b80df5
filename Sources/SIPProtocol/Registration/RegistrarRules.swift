import SIPCore

/// A registered contact, as the registrar rules see it (the store keeps the same fields).
public struct RegistrarBinding: Sendable, Equatable {
    public var contact: NameAddress
    public var callID: String
    public var cseq: UInt32
    /// Seconds since 1970.
    public var expiresAt: Int64
    public var path: [String]
    public var receivedFrom: String?

    public init(contact: NameAddress, callID: String, cseq: UInt32, expiresAt: Int64, path: [String] = [], receivedFrom: String? = nil) {
        self.contact = contact
        self.callID = callID
        self.cseq = cseq
        self.expiresAt = expiresAt
        self.path = path
        self.receivedFrom = receivedFrom
    }

    public var qValue: Double? { (self.contact.parameters.value(of: "q") ?? nil).flatMap(Double.init) }

    /// The Contact value listed in a 200 to REGISTER: the registered contact with its
    /// remaining lifetime in `expires` (RFC 3261 §10.3 step 8).
    public func responseContact(now: Int64) -> String {
        var contact = self.contact
        contact.parameters.set("expires", String(max(0, self.expiresAt - now)))
        return contact.description
    }
}

public enum RegistrarDecision: Sendable, Equatable {
    case reject(status: Int, reason: String? = nil, headers: [HeaderPair] = [])
    /// Store `bindings` as the complete new set for `addressOfRecord`, then answer 200 listing them.
    case update(addressOfRecord: String, bindings: [RegistrarBinding])
}

/// REGISTER processing of RFC 3261 §10.3 steps 5-8 (the caller has done steps 1-4: domain,
/// Require, authentication and authorization).
public enum RegistrarRules {
    public static func process(
        essentials: RequestEssentials, contacts: ContactValue?, expiresHeader: UInt32?, existing: [RegistrarBinding],
        now: Int64, policy: ExpiryPolicy, identity: ServerIdentity, path: [String] = [], receivedFrom: String? = nil
    ) -> RegistrarDecision {
        let aorURI = essentials.to.uri
        // Step 5: the To URI must be an address-of-record of a served domain.
        guard aorURI.isSIP, aorURI.user != nil, identity.domains.contains(aorURI.hostKey) else {
            return .reject(status: 404, reason: "Not Found: not an address-of-record of this domain")
        }
        let callID = essentials.callID
        let cseq = essentials.cseq.sequenceNumber
        var bindings = existing.filter { $0.expiresAt > now }
        switch contacts {
        case nil, .addresses([]):
            // A query: list the current bindings.
            return .update(addressOfRecord: aorURI.addressOfRecord, bindings: bindings)
        case .wildcard:
            // Step 6: "*" only with Expires: 0.
            guard expiresHeader == 0 else {
                return .reject(status: 400, reason: "Bad Request: Contact * requires Expires: 0")
            }
            for binding in bindings where binding.callID == callID && cseq <= binding.cseq {
                return Self.outOfOrder()
            }
            return .update(addressOfRecord: aorURI.addressOfRecord, bindings: [])
        case .addresses(let addresses):
            for contact in addresses {
                let requested = Self.requestedExpiry(contact, header: expiresHeader, policy: policy)
                if requested > 0, requested < policy.minExpires {
                    return .reject(status: 423, headers: [HeaderPair("Min-Expires", String(policy.minExpires))])
                }
                let lifetime = min(requested, policy.maxExpires)
                if let index = bindings.firstIndex(where: { $0.contact.uri.isEquivalent(to: contact.uri) }) {
                    // Step 7: the same Call-ID must come with a higher CSeq.
                    if bindings[index].callID == callID, cseq <= bindings[index].cseq { return Self.outOfOrder() }
                    if lifetime == 0 {
                        bindings.remove(at: index)
                    } else {
                        bindings[index] = Self.binding(contact, callID, cseq, now, lifetime, path, receivedFrom)
                    }
                } else if lifetime > 0 {
                    bindings.append(Self.binding(contact, callID, cseq, now, lifetime, path, receivedFrom))
                }
            }
            return .update(addressOfRecord: aorURI.addressOfRecord, bindings: bindings)
        }
    }

    /// Contact `expires` parameter first, then the Expires header, then the default (§10.2.1.1).
    static func requestedExpiry(_ contact: NameAddress, header: UInt32?, policy: ExpiryPolicy) -> UInt32 {
        if let parameter = contact.parameters.value(of: "expires") ?? nil {
            let digits = parameter.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty { return UInt32(clamping: UInt64(digits.prefix(10)) ?? UInt64(UInt32.max)) }
        }
        return header ?? policy.defaultExpires
    }

    static func binding(
        _ contact: NameAddress, _ callID: String, _ cseq: UInt32, _ now: Int64, _ lifetime: UInt32, _ path: [String], _ receivedFrom: String?
    ) -> RegistrarBinding {
        var stored = contact
        stored.parameters.remove("expires")
        return RegistrarBinding(contact: stored, callID: callID, cseq: cseq, expiresAt: now + Int64(lifetime), path: path, receivedFrom: receivedFrom)
    }

    static func outOfOrder() -> RegistrarDecision {
        .reject(status: 500, reason: "Server Internal Error: out-of-order REGISTER (CSeq not higher than before)", headers: [HeaderPair("Retry-After", "1")])
    }
}
