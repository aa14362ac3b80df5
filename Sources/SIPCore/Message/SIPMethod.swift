/// A request method (RFC 3261 §7.1, §25.1 `Method`). Methods are case-sensitive tokens;
/// anything that is not one of the known methods is kept verbatim as an extension method.
public struct SIPMethod: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let invite = SIPMethod("INVITE")
    public static let ack = SIPMethod("ACK")
    public static let bye = SIPMethod("BYE")
    public static let cancel = SIPMethod("CANCEL")
    public static let options = SIPMethod("OPTIONS")
    public static let register = SIPMethod("REGISTER")
    public static let prack = SIPMethod("PRACK")
    public static let subscribe = SIPMethod("SUBSCRIBE")
    public static let notify = SIPMethod("NOTIFY")
    public static let publish = SIPMethod("PUBLISH")
    public static let info = SIPMethod("INFO")
    public static let refer = SIPMethod("REFER")
    public static let message = SIPMethod("MESSAGE")
    public static let update = SIPMethod("UPDATE")

    /// Every method with a defined meaning in the RFCs Herald implements.
    public static let known: Set<SIPMethod> = [
        .invite, .ack, .bye, .cancel, .options, .register, .prack, .subscribe, .notify,
        .publish, .info, .refer, .message, .update,
    ]

    public var isKnown: Bool { Self.known.contains(self) }

    public var description: String { self.rawValue }

    /// Interns the common methods so the parser does not allocate a String per request.
    static func fromBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> SIPMethod {
        switch bytes.count {
        case 3:
            if bytes.elementsEqual("ACK".utf8) { return .ack }
            if bytes.elementsEqual("BYE".utf8) { return .bye }
        case 4:
            if bytes.elementsEqual("INFO".utf8) { return .info }
        case 5:
            if bytes.elementsEqual("PRACK".utf8) { return .prack }
            if bytes.elementsEqual("REFER".utf8) { return .refer }
        case 6:
            if bytes.elementsEqual("INVITE".utf8) { return .invite }
            if bytes.elementsEqual("CANCEL".utf8) { return .cancel }
            if bytes.elementsEqual("NOTIFY".utf8) { return .notify }
            if bytes.elementsEqual("UPDATE".utf8) { return .update }
        case 7:
            if bytes.elementsEqual("OPTIONS".utf8) { return .options }
            if bytes.elementsEqual("PUBLISH".utf8) { return .publish }
            if bytes.elementsEqual("MESSAGE".utf8) { return .message }
        case 8:
            if bytes.elementsEqual("REGISTER".utf8) { return .register }
        case 9:
            if bytes.elementsEqual("SUBSCRIBE".utf8) { return .subscribe }
        default:
            break
        }
        return SIPMethod(String(sipBytes: bytes))
    }
}
