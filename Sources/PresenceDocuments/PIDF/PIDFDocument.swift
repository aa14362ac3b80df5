/// A presence document (RFC 3863) split into the parts composition works on: tuples
/// (services), persons and devices (RFC 4479 data model), notes, and other extensions.
public struct PIDFDocument: Sendable, Equatable {
    public var entity: String
    public var tuples: [XMLElement]
    public var persons: [XMLElement]
    public var devices: [XMLElement]
    public var notes: [XMLElement]
    public var extensions: [XMLElement]
    /// The root's namespace declarations, reused so composed documents keep familiar prefixes.
    public var declarations: [XMLNamespaceDeclaration]


    public init(entity: String, tuples: [XMLElement] = [], persons: [XMLElement] = [], devices: [XMLElement] = [],
                notes: [XMLElement] = [], extensions: [XMLElement] = [], declarations: [XMLNamespaceDeclaration] = []) {
        self.entity = entity
        self.tuples = tuples
        self.persons = persons
        self.devices = devices
        self.notes = notes
        self.extensions = extensions
        self.declarations = declarations
    }

    /// Parses and validates a published document: well-formed (no DTD, within limits), a PIDF
    /// `presence` root with an `entity`, every tuple with an `id` and a `status`
    /// (RFC 3863 §4.1), every person and device with an `id` (RFC 4479 §3), ids unique.
    public init(parsing bytes: [UInt8], limits: XMLLimits = XMLLimits()) throws(PresenceDocumentError) {
        try self.init(element: PresenceDocumentError.parse(bytes, limits: limits))
    }

    public init(element root: XMLElement) throws(PresenceDocumentError) {
        guard root.name == PIDFName.presence else {
            throw PresenceDocumentError("not a PIDF document: root element is \(root.name), expected {\(PresenceNamespace.pidf)}presence")
        }
        guard let entity = root.attribute("entity"), !entity.isEmpty else {
            throw PresenceDocumentError("PIDF presence element without entity attribute")
        }
        self.init(entity: entity, declarations: root.namespaceDeclarations)
        var ids = Set<String>()
        for child in root.childElements {
            switch child.name {
            case PIDFName.tuple:
                guard child.firstChild(named: PIDFName.status) != nil else {
                    throw PresenceDocumentError("PIDF tuple without status element")
                }
                try Self.checkID(child, kind: "tuple", seen: &ids)
                self.tuples.append(child)
            case PIDFName.person:
                try Self.checkID(child, kind: "person", seen: &ids)
                self.persons.append(child)
            case PIDFName.device:
                try Self.checkID(child, kind: "device", seen: &ids)
                self.devices.append(child)
            case PIDFName.note:
                self.notes.append(child)
            default:
                self.extensions.append(child)
            }
        }
    }

    private static func checkID(_ element: XMLElement, kind: String, seen: inout Set<String>) throws(PresenceDocumentError) {
        guard let id = element.attribute("id"), !id.isEmpty else {
            throw PresenceDocumentError("PIDF \(kind) without id attribute")
        }
        guard seen.insert(id).inserted else { throw PresenceDocumentError("PIDF id '\(id)' used twice") }
    }

    /// The document as a `presence` element: tuples, notes, then persons, devices and other
    /// extensions, the order of the RFC 3863 and RFC 4479 schemas.
    public var element: XMLElement {
        var root = XMLElement(PIDFName.presence, namespaceDeclarations: Self.rootDeclarations(self.declarations))
        root.setAttribute("entity", self.entity)
        let parts = self.tuples + self.notes + self.persons + self.devices + self.extensions
        root.children = parts.map { .element($0) }
        return root
    }

    /// The PIDF namespace as default, plus the sources' prefixed declarations.
    static func rootDeclarations(_ declarations: [XMLNamespaceDeclaration]) -> [XMLNamespaceDeclaration] {
        var result = [XMLNamespaceDeclaration(prefix: nil, uri: PresenceNamespace.pidf)]
        var prefixes = Set<String>()
        for declaration in declarations {
            guard let prefix = declaration.prefix, prefixes.insert(prefix).inserted else { continue }
            result.append(declaration)
        }
        return result
    }

    public func serialized() -> [UInt8] { XMLSerializer.serializedBytes(self.element) }
}
