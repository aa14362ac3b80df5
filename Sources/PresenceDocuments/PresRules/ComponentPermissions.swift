/// Which data components of a presence document (RFC 4479 §3: services, persons, devices) a
/// watcher may see. RFC 5025 §3.3.1: a component is provided when the permission names it in
/// any of the listed ways (a logical OR); with no permission, no component of that kind is.
/// Each permission is a set, so permissions of several matching rules combine by union
/// (RFC 4745 §10.2).

/// `provide-services` (RFC 5025 §3.3.1.3): `all-services`, or services chosen by their
/// service URI (the tuple's `contact`), the scheme of that URI, their occurrence id (the
/// tuple's `id`) or their RPID `class`.
public struct ServicePermission: Sendable, Hashable {
    public var allServices: Bool
    public var serviceURIs: Set<String>
    /// Stored lowercased: URI schemes are case-insensitive (RFC 3986 §3.1).
    public var serviceURISchemes: Set<String>
    public var occurrenceIDs: Set<String>
    public var classes: Set<String>

    public init(allServices: Bool = false, serviceURIs: Set<String> = [], serviceURISchemes: Set<String> = [],
                occurrenceIDs: Set<String> = [], classes: Set<String> = []) {
        self.allServices = allServices
        self.serviceURIs = serviceURIs
        self.serviceURISchemes = Set(serviceURISchemes.map { $0.lowercased() })
        self.occurrenceIDs = occurrenceIDs
        self.classes = classes
    }

    public var grantsNothing: Bool {
        !self.allServices && self.serviceURIs.isEmpty && self.serviceURISchemes.isEmpty && self.occurrenceIDs.isEmpty
            && self.classes.isEmpty
    }

    public func union(_ other: ServicePermission) -> ServicePermission {
        ServicePermission(
            allServices: self.allServices || other.allServices, serviceURIs: self.serviceURIs.union(other.serviceURIs),
            serviceURISchemes: self.serviceURISchemes.union(other.serviceURISchemes),
            occurrenceIDs: self.occurrenceIDs.union(other.occurrenceIDs), classes: self.classes.union(other.classes))
    }
}

/// `provide-persons` (RFC 5025 §3.3.1.2): `all-persons`, or persons chosen by occurrence id
/// or RPID `class`.
public struct PersonPermission: Sendable, Hashable {
    public var allPersons: Bool
    public var occurrenceIDs: Set<String>
    public var classes: Set<String>

    public init(allPersons: Bool = false, occurrenceIDs: Set<String> = [], classes: Set<String> = []) {
        self.allPersons = allPersons
        self.occurrenceIDs = occurrenceIDs
        self.classes = classes
    }

    public var grantsNothing: Bool { !self.allPersons && self.occurrenceIDs.isEmpty && self.classes.isEmpty }

    public func union(_ other: PersonPermission) -> PersonPermission {
        PersonPermission(
            allPersons: self.allPersons || other.allPersons, occurrenceIDs: self.occurrenceIDs.union(other.occurrenceIDs),
            classes: self.classes.union(other.classes))
    }
}

/// `provide-devices` (RFC 5025 §3.3.1.1): `all-devices`, or devices chosen by their
/// `deviceID` (RFC 4479), occurrence id or RPID `class`.
public struct DevicePermission: Sendable, Hashable {
    public var allDevices: Bool
    public var deviceIDs: Set<String>
    public var occurrenceIDs: Set<String>
    public var classes: Set<String>

    public init(allDevices: Bool = false, deviceIDs: Set<String> = [], occurrenceIDs: Set<String> = [],
                classes: Set<String> = []) {
        self.allDevices = allDevices
        self.deviceIDs = deviceIDs
        self.occurrenceIDs = occurrenceIDs
        self.classes = classes
    }

    public var grantsNothing: Bool {
        !self.allDevices && self.deviceIDs.isEmpty && self.occurrenceIDs.isEmpty && self.classes.isEmpty
    }

    public func union(_ other: DevicePermission) -> DevicePermission {
        DevicePermission(
            allDevices: self.allDevices || other.allDevices, deviceIDs: self.deviceIDs.union(other.deviceIDs),
            occurrenceIDs: self.occurrenceIDs.union(other.occurrenceIDs), classes: self.classes.union(other.classes))
    }
}
