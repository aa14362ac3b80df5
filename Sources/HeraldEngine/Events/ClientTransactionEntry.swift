import NIOCore
import SIPCore
import SIPProtocol

/// A request Herald sends (NOTIFY) and its RFC 3261 §17.1.2 transaction.
final class ClientTransactionEntry: @unchecked Sendable {
    let branch: String
    let method: SIPMethod
    var machine: ClientNonInviteTransaction
    let bytes: [UInt8]
    let destination: SIPDestination
    /// Learns the final outcome: a final response, or nil for a timeout or transport error.
    let completion: (SIPResponse?) -> Void
    var completed = false

    init(branch: String, method: SIPMethod, machine: ClientNonInviteTransaction, bytes: [UInt8], destination: SIPDestination, completion: @escaping (SIPResponse?) -> Void) {
        self.branch = branch
        self.method = method
        self.machine = machine
        self.bytes = bytes
        self.destination = destination
        self.completion = completion
    }
}
