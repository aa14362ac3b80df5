extension PresenceTransformations {
    /// Reads a rule's `transformations` element (RFC 5025 §3.3). Unknown transformations are
    /// skipped: a permission the server does not understand is never granted (RFC 4745 §10).
    init(element: XMLElement) {
        self.init()
        for child in element.childElements where child.name.namespace == PresRulesNamespace.presRules {
            switch child.name.local {
            case "provide-services":
                self.services = self.services.union(Self.servicePermission(child))
            case "provide-persons":
                self.persons = self.persons.union(Self.personPermission(child))
            case "provide-devices":
                self.devices = self.devices.union(Self.devicePermission(child))
            case "provide-user-input":
                self.userInput = max(self.userInput, UserInputPermission(token: child.text) ?? .withheld)
            case "provide-unknown-attribute":
                // RFC 5025 §3.3.2: `ns` and `name` name the element; it only covers attributes
                // this specification does not define.
                if Self.boolean(child.text), let namespace = child.attribute("ns"), let name = child.attribute("name") {
                    let elementName = XMLName(namespace.trimmedXMLWhitespace, name.trimmedXMLWhitespace)
                    if PresenceAttribute(element: elementName) == nil { self.unknownAttributes.insert(elementName) }
                }
            case "provide-all-attributes":
                self.allAttributes = true
            default:
                if let attribute = PresenceAttribute.allCases.first(where: { $0.permissionName == child.name }),
                   Self.boolean(child.text) {
                    self.attributes.insert(attribute)
                }
            }
        }
    }

    /// `xs:boolean`: `true` or `1` (whitespace collapsed); anything else grants nothing.
    static func boolean(_ text: String) -> Bool {
        let value = text.trimmedXMLWhitespace
        return value == "true" || value == "1"
    }

    private static func children(_ element: XMLElement, _ local: String) -> [String] {
        element.children(named: XMLName(PresRulesNamespace.presRules, local)).map(\.text)
    }

    private static func has(_ element: XMLElement, _ local: String) -> Bool {
        element.firstChild(named: XMLName(PresRulesNamespace.presRules, local)) != nil
    }

    static func servicePermission(_ element: XMLElement) -> ServicePermission {
        ServicePermission(
            allServices: Self.has(element, "all-services"), serviceURIs: Set(Self.children(element, "service-uri")),
            serviceURISchemes: Set(Self.children(element, "service-uri-scheme")),
            occurrenceIDs: Set(Self.children(element, "occurrence-id")), classes: Set(Self.children(element, "class")))
    }

    static func personPermission(_ element: XMLElement) -> PersonPermission {
        PersonPermission(
            allPersons: Self.has(element, "all-persons"), occurrenceIDs: Set(Self.children(element, "occurrence-id")),
            classes: Set(Self.children(element, "class")))
    }

    static func devicePermission(_ element: XMLElement) -> DevicePermission {
        DevicePermission(
            allDevices: Self.has(element, "all-devices"), deviceIDs: Set(Self.children(element, "deviceID")),
            occurrenceIDs: Set(Self.children(element, "occurrence-id")), classes: Set(Self.children(element, "class")))
    }
}
