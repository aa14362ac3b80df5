/// Composes the presence of one presentity from all its live sources (RFC 3903 §4.4 leaves the
/// policy to the compositor; RFC 4479 §3 identifies components by id): each publication and
/// the permanent pidf-manipulation document contribute tuples, persons and devices; for one id
/// the most recent source wins. Notes and extensions come from the most recent source that
/// has them. The result names the presentity as `entity`.
public enum PresenceComposer {
    public struct Source: Sendable {
        public var document: PIDFDocument
        /// Orders sources: higher is more recent.
        public var sequence: Int64

        public init(document: PIDFDocument, sequence: Int64) {
            self.document = document
            self.sequence = sequence
        }
    }

    public static func compose(entity: String, sources: [Source]) -> PIDFDocument {
        let ordered = sources.sorted { $0.sequence < $1.sequence }
        var tuples = OrderedByID()
        var persons = OrderedByID()
        var devices = OrderedByID()
        var notes: [XMLElement] = []
        var extensions: [XMLElement] = []
        var declarations: [XMLNamespaceDeclaration] = []
        for source in ordered {
            for tuple in source.document.tuples { tuples.upsert(tuple) }
            for person in source.document.persons { persons.upsert(person) }
            for device in source.document.devices { devices.upsert(device) }
            if !source.document.notes.isEmpty { notes = source.document.notes }
            if !source.document.extensions.isEmpty { extensions = source.document.extensions }
            declarations += source.document.declarations
        }
        return PIDFDocument(
            entity: entity, tuples: tuples.elements, persons: persons.elements, devices: devices.elements, notes: notes,
            extensions: extensions, declarations: declarations)
    }

    /// Elements keyed by `id`, in first-seen order, replaced in place by later ones.
    struct OrderedByID {
        var elements: [XMLElement] = []
        var index: [String: Int] = [:]

        mutating func upsert(_ element: XMLElement) {
            let id = element.attribute("id") ?? ""
            if let position = self.index[id] {
                self.elements[position] = element
            } else {
                self.index[id] = self.elements.count
                self.elements.append(element)
            }
        }
    }
}
