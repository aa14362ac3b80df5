import PresenceDocuments

/// Whether a PUT created the resource or replaced it (RFC 4825 §8.2: 201 or 200).
public enum XCAPWriteOutcome: Sendable, Hashable {
    case created
    case replaced

    public var status: Int {
        switch self {
        case .created: 201
        case .replaced: 200
        }
    }
}

/// The document after a successful PUT, and what the PUT did.
public struct XCAPWriteResult: Sendable, Hashable {
    public var document: XMLElement
    public var outcome: XCAPWriteOutcome

    public init(document: XMLElement, outcome: XCAPWriteOutcome) {
        self.document = document
        self.outcome = outcome
    }
}

/// How strictly an element or attribute PUT is checked.
public struct XCAPPutOptions: Sendable, Equatable {
    /// Limits for parsing the body.
    public var limits: XMLLimits
    /// RFC 4825 §8.2.3 requires that the request URI select the new element once it is in the
    /// document (GET(PUT(x)) returns x), so a body whose attribute differs from the last step's
    /// attribute test is refused with 409 cannot-insert. Some RCS clients send exactly that
    /// (seed 001 puts `<entry uri='sip:+330123456789@anritsu-rcs.com;user=phone'>` at
    /// `entry[@uri="sip:+330123456789@Test-rcs.com;user=phone"]` and got 201). When true, such a
    /// body is accepted if the URI would select it with the test's value read from the body
    /// instead; everything else (name, position, placement) is still checked.
    public var acceptsMismatchedAttributeTest: Bool

    public init(limits: XMLLimits = XMLLimits(), acceptsMismatchedAttributeTest: Bool = false) {
        self.limits = limits
        self.acceptsMismatchedAttributeTest = acceptsMismatchedAttributeTest
    }

    /// RFC 4825 as written.
    public static let strict = XCAPPutOptions()
    /// Accepts what deployed RCS clients send (see `acceptsMismatchedAttributeTest`).
    public static let interoperable = XCAPPutOptions(acceptsMismatchedAttributeTest: true)
}
