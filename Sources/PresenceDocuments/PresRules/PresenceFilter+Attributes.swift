/// Filtering inside a provided component (RFC 5025 §3.3.2): the elements that make up the
/// component itself stay; presence attributes stay only when permitted.
extension PresenceFilter {
    enum ComponentKind { case service, person, device }

    /// Elements that are the component rather than attributes of it, kept whenever the
    /// component is: the status and contact of a service (RFC 3863 §4.1), a device's own
    /// `deviceID` (RFC 4479), notes and timestamps. Our reading of RFC 5025 §3.3, which lists
    /// permissions only for attributes; without these a provided component would be empty.
    static func isStructural(_ name: XMLName, in kind: ComponentKind) -> Bool {
        switch (name.namespace, name.local) {
        case (PresenceNamespace.pidf, "note"), (PresenceNamespace.dataModel, "note"),
             (PresenceNamespace.pidf, "timestamp"), (PresenceNamespace.dataModel, "timestamp"):
            return true
        case (PresenceNamespace.pidf, "status"), (PresenceNamespace.pidf, "contact"):
            return kind == .service
        case (PresenceNamespace.dataModel, "deviceID"):
            return kind == .device
        default:
            return false
        }
    }

    /// A copy of the component with only its structural elements and permitted attributes.
    static func filtered(_ component: XMLElement, kind: ComponentKind, by transformations: PresenceTransformations)
        -> XMLElement {
        var result = component
        result.children = component.childElements.compactMap { child -> XMLNode? in
            if child.name == PIDFName.status, kind == .service {
                return .element(Self.filteredStatus(child, by: transformations))
            }
            if Self.isStructural(child.name, in: kind) { return .element(child) }
            return Self.keptAttribute(child, by: transformations).map { .element($0) }
        }
        return result
    }

    /// A tuple's `status` keeps `basic`; its extension children are attributes.
    static func filteredStatus(_ status: XMLElement, by transformations: PresenceTransformations) -> XMLElement {
        var result = status
        result.children = status.childElements.compactMap { child -> XMLNode? in
            if child.name == PIDFName.basic { return .element(child) }
            return Self.keptAttribute(child, by: transformations).map { .element($0) }
        }
        return result
    }

    /// The attribute as the watcher may see it, or nil. Named attributes need their own
    /// permission, others (CIPID, OMA, capabilities…) `provide-unknown-attribute`; all need
    /// nothing more under `provide-all-attributes`.
    static func keptAttribute(_ element: XMLElement, by transformations: PresenceTransformations) -> XMLElement? {
        if element.name == XMLName(PresenceNamespace.rpid, "user-input") {
            return Self.userInput(element, at: transformations.effectiveUserInput)
        }
        if transformations.allAttributes { return element }
        if let attribute = PresenceAttribute(element: element.name) {
            return transformations.provides(attribute) ? element : nil
        }
        return transformations.unknownAttributes.contains(element.name) ? element : nil
    }

    /// RPID `user-input` cut to the permitted level (RFC 5025 §3.3.2): `bare` drops
    /// `idle-threshold` and `last-input`, `thresholds` drops `last-input`.
    static func userInput(_ element: XMLElement, at level: UserInputPermission) -> XMLElement? {
        var result = element
        switch level {
        case .withheld:
            return nil
        case .bare:
            result.setAttribute("idle-threshold", nil)
            result.setAttribute("last-input", nil)
        case .thresholds:
            result.setAttribute("last-input", nil)
        case .full:
            break
        }
        return result
    }
}
