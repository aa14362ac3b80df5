/// Registration state documents (RFC 3680 §5, `application/reginfo+xml`): the contacts bound
/// to an address-of-record and what last happened to each.
public enum RegInfoDocument {
    public static let namespace = "urn:ietf:params:xml:ns:reginfo"

    /// RFC 3680 §5.1: the registration's state.
    public enum RegistrationState: String, Sendable { case `init`, active, terminated }
    public enum ContactState: String, Sendable { case active, terminated }
    /// RFC 3680 §5.2.2: the event that brought a contact to its state.
    public enum ContactEvent: String, Sendable {
        case registered, created, refreshed, shortened, expired, deactivated, probation, unregistered, rejected
    }

    public struct Contact: Sendable, Equatable {
        public var id: String
        public var uri: String
        public var state: ContactState
        public var event: ContactEvent
        public var expires: Int?
        public var callID: String?
        public var cseq: UInt32?

        public init(id: String, uri: String, state: ContactState, event: ContactEvent, expires: Int? = nil, callID: String? = nil, cseq: UInt32? = nil) {
            self.id = id
            self.uri = uri
            self.state = state
            self.event = event
            self.expires = expires
            self.callID = callID
            self.cseq = cseq
        }
    }

    public struct Registration: Sendable, Equatable {
        public var aor: String
        public var id: String
        public var state: RegistrationState
        public var contacts: [Contact]

        public init(aor: String, id: String, state: RegistrationState, contacts: [Contact]) {
            self.aor = aor
            self.id = id
            self.state = state
            self.contacts = contacts
        }
    }

    public enum State: String, Sendable { case full, partial }

    /// The document, in the shape of RFC 3680 §6 and seed 000's first example. `version` counts
    /// documents per subscription from 0 (§5.2.1).
    public static func document(version: Int, state: State, registrations: [Registration]) -> XMLElement {
        var root = XMLElement(
            XMLName(Self.namespace, "reginfo"), namespaceDeclarations: [XMLNamespaceDeclaration(prefix: nil, uri: Self.namespace)])
        root.setAttribute("version", String(version))
        root.setAttribute("state", state.rawValue)
        for registration in registrations {
            var element = XMLElement(XMLName(Self.namespace, "registration"))
            element.setAttribute("aor", registration.aor)
            element.setAttribute("id", registration.id)
            element.setAttribute("state", registration.state.rawValue)
            for contact in registration.contacts {
                var contactElement = XMLElement(
                    XMLName(Self.namespace, "contact"), children: [.element(XMLElement(XMLName(Self.namespace, "uri"), children: [.text(contact.uri)]))])
                contactElement.setAttribute("id", contact.id)
                contactElement.setAttribute("state", contact.state.rawValue)
                contactElement.setAttribute("event", contact.event.rawValue)
                if let expires = contact.expires { contactElement.setAttribute("expires", String(expires)) }
                if let callID = contact.callID { contactElement.setAttribute("callid", callID) }
                if let cseq = contact.cseq { contactElement.setAttribute("cseq", String(cseq)) }
                element.children.append(.element(contactElement))
            }
            root.children.append(.element(element))
        }
        return root
    }
}
