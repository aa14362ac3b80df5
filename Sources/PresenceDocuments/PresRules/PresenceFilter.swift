/// Applies RFC 5025 §3.3 transformations to a composed presence document before it goes to
/// one watcher: only the permitted services (tuples), persons and devices stay, and of those
/// only the permitted attributes. What is not granted is removed (RFC 5025: every permission
/// defaults to "nothing"), so `PresenceTransformations.nothing` leaves the bare `presence`
/// element with its `entity`.
public enum PresenceFilter {
    static let classElementName = XMLName(PresenceNamespace.rpid, "class")

    /// The filtered copy of `pidf` (a `{urn:ietf:params:xml:ns:pidf}presence` element). Any
    /// other root gives an empty `presence` element carrying the root's `entity`, if any.
    public static func apply(_ transformations: PresenceTransformations, to pidf: XMLElement) -> XMLElement {
        guard pidf.name == PIDFName.presence else {
            var empty = XMLElement(PIDFName.presence, namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: PresenceNamespace.pidf)])
            if let entity = pidf.attribute("entity") { empty.setAttribute("entity", entity) }
            return empty
        }
        var result = pidf
        result.children = []
        for child in pidf.childElements {
            let kept: XMLElement?
            switch child.name {
            case PIDFName.tuple:
                kept = Self.isProvided(service: child, by: transformations.services)
                    ? Self.filtered(child, kind: .service, by: transformations) : nil
            case PIDFName.person:
                kept = Self.isProvided(person: child, by: transformations.persons)
                    ? Self.filtered(child, kind: .person, by: transformations) : nil
            case PIDFName.device:
                kept = Self.isProvided(device: child, by: transformations.devices)
                    ? Self.filtered(child, kind: .device, by: transformations) : nil
            default:
                // Presence-level notes and extensions describe the presentity as a whole:
                // they are attributes like any other.
                kept = Self.keptAttribute(child, by: transformations)
            }
            if let kept { result.children.append(.element(kept)) }
        }
        return result
    }

    /// What a `polite-block`ed watcher receives. RFC 5025 §3.2.1: the subscription is accepted
    /// and the document says the presentity is unavailable — no persons or devices, one
    /// service whose basic status is `closed` (RFC 3863) — so the watcher cannot tell it
    /// from a presentity that is offline. The tuple id is an ordinary-looking one for the same
    /// reason.
    public static func neutralDocument(entity: String, tupleID: String = "t1") -> XMLElement {
        let basic = XMLElement(PIDFName.basic, children: [.text("closed")])
        let status = XMLElement(PIDFName.status, children: [.element(basic)])
        var tuple = XMLElement(PIDFName.tuple, children: [.element(status)])
        tuple.setAttribute("id", tupleID)
        var presence = XMLElement(
            PIDFName.presence, namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: PresenceNamespace.pidf)],
            children: [.element(tuple)])
        presence.setAttribute("entity", entity)
        return presence
    }

    // MARK: Choosing components (RFC 5025 §3.3.1)

    static func isProvided(service tuple: XMLElement, by permission: ServicePermission) -> Bool {
        if permission.allServices { return true }
        if let id = tuple.attribute("id"), permission.occurrenceIDs.contains(id) { return true }
        if let serviceClass = Self.classOf(tuple), permission.classes.contains(serviceClass) { return true }
        guard let contact = tuple.firstChild(named: PIDFName.contact)?.text, !contact.isEmpty else { return false }
        // The service URI is compared whole: its parameters (a GRUU, a transport) can tell two
        // services apart, and a looser match could show a service the rule did not name.
        if permission.serviceURIs.contains(where: { $0.trimmedXMLWhitespace == contact }) { return true }
        if let scheme = PolicyURI(contact)?.scheme, permission.serviceURISchemes.contains(scheme) { return true }
        return false
    }

    static func isProvided(person: XMLElement, by permission: PersonPermission) -> Bool {
        if permission.allPersons { return true }
        if let id = person.attribute("id"), permission.occurrenceIDs.contains(id) { return true }
        if let personClass = Self.classOf(person), permission.classes.contains(personClass) { return true }
        return false
    }

    static func isProvided(device: XMLElement, by permission: DevicePermission) -> Bool {
        if permission.allDevices { return true }
        if let id = device.attribute("id"), permission.occurrenceIDs.contains(id) { return true }
        if let deviceClass = Self.classOf(device), permission.classes.contains(deviceClass) { return true }
        if let deviceID = device.firstChild(named: PIDFName.deviceID)?.text, permission.deviceIDs.contains(deviceID) {
            return true
        }
        return false
    }

    /// The component's RPID `class` (RFC 4480), the label `class` permissions select by.
    static func classOf(_ component: XMLElement) -> String? {
        guard let text = component.firstChild(named: Self.classElementName)?.text, !text.isEmpty else { return nil }
        return text
    }
}
