/// What a watcher may see of a presence document: the combined `transformations` of the
/// matching rules (RFC 5025 §3.3). The default value grants nothing: RFC 5025 makes every
/// permission default to its least permissive value, so with no transformations the watcher
/// gets a document naming only the presentity. Values of several rules combine as RFC 4745
/// §10.2 says: booleans by OR, sets by union, ordered values by maximum.
public struct PresenceTransformations: Sendable, Hashable {
    public var services: ServicePermission
    public var persons: PersonPermission
    public var devices: DevicePermission
    /// Attributes granted one by one (`provide-activities` … `provide-time-offset`).
    public var attributes: Set<PresenceAttribute>
    public var userInput: UserInputPermission
    /// Attributes RFC 5025 does not define, granted by `provide-unknown-attribute`
    /// (namespace and local name of the element).
    public var unknownAttributes: Set<XMLName>
    /// `provide-all-attributes`: every attribute of every provided component.
    public var allAttributes: Bool

    public init(services: ServicePermission = ServicePermission(), persons: PersonPermission = PersonPermission(),
                devices: DevicePermission = DevicePermission(), attributes: Set<PresenceAttribute> = [],
                userInput: UserInputPermission = .withheld, unknownAttributes: Set<XMLName> = [],
                allAttributes: Bool = false) {
        self.services = services
        self.persons = persons
        self.devices = devices
        self.attributes = attributes
        self.userInput = userInput
        self.unknownAttributes = unknownAttributes
        self.allAttributes = allAttributes
    }

    /// Grants nothing: the watcher sees only the entity.
    public static let nothing = PresenceTransformations()

    /// Everything: all services, persons and devices with all their attributes.
    public static let everything = PresenceTransformations(
        services: ServicePermission(allServices: true), persons: PersonPermission(allPersons: true),
        devices: DevicePermission(allDevices: true), allAttributes: true)

    /// The permissions of both (RFC 4745 §10.2).
    public func combined(with other: PresenceTransformations) -> PresenceTransformations {
        PresenceTransformations(
            services: self.services.union(other.services), persons: self.persons.union(other.persons),
            devices: self.devices.union(other.devices), attributes: self.attributes.union(other.attributes),
            userInput: max(self.userInput, other.userInput),
            unknownAttributes: self.unknownAttributes.union(other.unknownAttributes),
            allAttributes: self.allAttributes || other.allAttributes)
    }

    /// Whether a named attribute is provided, directly or through `provide-all-attributes`.
    public func provides(_ attribute: PresenceAttribute) -> Bool {
        self.allAttributes || self.attributes.contains(attribute)
    }

    /// The user-input level in effect: `provide-all-attributes` implies `full`.
    public var effectiveUserInput: UserInputPermission { self.allAttributes ? .full : self.userInput }
}
