/// Limits on a requested lifetime (registrations RFC 3261 §10.2.8, publications RFC 3903 §6,
/// subscriptions RFC 6665 §4.2.1.1): below `minExpires` is refused with 423 and Min-Expires,
/// above `maxExpires` is shortened, absent means `defaultExpires`.
public struct ExpiryPolicy: Sendable, Equatable {
    public var minExpires: UInt32
    public var maxExpires: UInt32
    public var defaultExpires: UInt32

    public init(minExpires: UInt32 = 60, maxExpires: UInt32 = 86_400, defaultExpires: UInt32 = 3_600) {
        self.minExpires = minExpires
        self.maxExpires = maxExpires
        self.defaultExpires = defaultExpires
    }
}
