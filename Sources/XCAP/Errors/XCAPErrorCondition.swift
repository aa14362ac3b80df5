/// The error conditions of an `application/xcap-error+xml` body (RFC 4825 §11), each sent with a
/// 409 Conflict, and each with an optional human-readable phrase.
public enum XCAPErrorCondition: Sendable, Hashable {
    /// The body is not well-formed XML.
    case notWellFormed(phrase: String? = nil)
    /// An element PUT body is not a single element: text, several elements, nothing.
    case notXMLFragment(phrase: String? = nil)
    /// The parent of the element or attribute to create does not exist. `ancestor` is the URI of
    /// the closest existing ancestor (RFC 4825 §11: the document, or an element in it).
    case noParent(ancestor: String?, phrase: String? = nil)
    /// The element cannot be placed so that the request URI selects it, or the result of the
    /// PUT would not be read back by a GET of the same URI (RFC 4825 §8.2.3).
    case cannotInsert(phrase: String? = nil)
    /// After the DELETE the request URI would select another node (RFC 4825 §8.4).
    case cannotDelete(phrase: String? = nil)
    /// An attribute PUT body is not a valid attribute value.
    case notXMLAttributeValue(phrase: String? = nil)
    /// Values that must be unique are not (RFC 4825 §11.2 `<exists>`).
    case uniquenessFailure([XCAPUniquenessConflict], phrase: String? = nil)
    /// A constraint of the application usage beyond its schema failed.
    case constraintFailure(phrase: String? = nil)
    /// The document does not follow the application usage's schema.
    case schemaValidationError(phrase: String? = nil)
    /// The body is not UTF-8.
    case notUTF8(phrase: String? = nil)

    /// The element name of the condition in the error document.
    public var elementName: String {
        switch self {
        case .notWellFormed: "not-well-formed"
        case .notXMLFragment: "not-xml-frag"
        case .noParent: "no-parent"
        case .cannotInsert: "cannot-insert"
        case .cannotDelete: "cannot-delete"
        case .notXMLAttributeValue: "not-xml-att-value"
        case .uniquenessFailure: "uniqueness-failure"
        case .constraintFailure: "constraint-failure"
        case .schemaValidationError: "schema-validation-error"
        case .notUTF8: "not-utf-8"
        }
    }

    public var phrase: String? {
        switch self {
        case .notWellFormed(let phrase), .notXMLFragment(let phrase), .noParent(_, let phrase),
            .cannotInsert(let phrase), .cannotDelete(let phrase), .notXMLAttributeValue(let phrase),
            .uniquenessFailure(_, let phrase), .constraintFailure(let phrase), .schemaValidationError(let phrase),
            .notUTF8(let phrase):
            phrase
        }
    }
}

/// One `<exists>` of a uniqueness failure: the field whose value is taken, and values the server
/// suggests instead (RFC 4825 §11.2).
public struct XCAPUniquenessConflict: Sendable, Hashable {
    /// A node selector, relative to the document, of the element or attribute whose value is not
    /// unique, e.g. `rls-services/service[2]/@uri`.
    public var field: String
    public var alternativeValues: [String]

    public init(field: String, alternativeValues: [String] = []) {
        self.field = field
        self.alternativeValues = alternativeValues
    }
}
