/// The ordered header fields of a message (RFC 3261 §7.3). Order is kept: it matters for
/// Via, Route and Record-Route, and for byte-exact forwarding of everything else.
public struct SIPHeaders: Sendable, Sequence {
    public private(set) var fields: [SIPHeaderField]

    public init() { self.fields = [] }

    init(fields: [SIPHeaderField]) { self.fields = fields }

    public init(_ pairs: [(SIPHeaderName, String)]) {
        self.fields = pairs.map { SIPHeaderField($0.0, $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[SIPHeaderField]> { self.fields.makeIterator() }

    public var count: Int { self.fields.count }

    /// The first field's unfolded value.
    public subscript(_ name: SIPHeaderName) -> String? {
        self.fields.first { $0.matches(name) }?.value
    }

    public func contains(_ name: SIPHeaderName) -> Bool { self.fields.contains { $0.matches(name) } }

    public func fields(_ name: SIPHeaderName) -> [SIPHeaderField] { self.fields.filter { $0.matches(name) } }

    public func count(of name: SIPHeaderName) -> Int { self.fields.reduce(0) { $0 + ($1.matches(name) ? 1 : 0) } }

    /// Every value of a list header, over all its lines, split at top-level commas
    /// (RFC 3261 §7.3.1: several lines are equivalent to one comma-separated line).
    public func listValues(_ name: SIPHeaderName) throws(SIPParseError) -> [[UInt8]] {
        var result = [[UInt8]]()
        for field in self.fields where field.matches(name) {
            result.append(contentsOf: try HeaderValueSplitter.split(field.valueBytes, header: name.description))
        }
        return result
    }

    /// Option tags and other token lists (Require, Supported, Allow…), as strings.
    public func tokens(_ name: SIPHeaderName) -> [String] {
        guard let values = try? self.listValues(name) else { return [] }
        return values.map { String(sipBytes: $0) }.filter { !$0.isEmpty }
    }

    public mutating func add(_ name: SIPHeaderName, _ value: String) {
        self.fields.append(SIPHeaderField(name, value))
    }

    public mutating func add(_ field: SIPHeaderField) { self.fields.append(field) }

    /// Puts a field before all others of its name (a new topmost Via, RFC 3261 §16.6 step 8),
    /// or at the end when there is none.
    public mutating func prepend(_ name: SIPHeaderName, _ value: String) {
        let field = SIPHeaderField(name, value)
        if let index = self.fields.firstIndex(where: { $0.matches(name) }) {
            self.fields.insert(field, at: index)
        } else {
            self.fields.append(field)
        }
    }

    /// Replaces the first field of the name in place and removes the others; appends when absent.
    public mutating func set(_ name: SIPHeaderName, _ value: String) {
        if let index = self.fields.firstIndex(where: { $0.matches(name) }) {
            self.fields[index] = SIPHeaderField(name, value)
            var next = index + 1
            while next < self.fields.count {
                if self.fields[next].matches(name) { self.fields.remove(at: next) } else { next += 1 }
            }
        } else {
            self.fields.append(SIPHeaderField(name, value))
        }
    }

    /// Replaces every field of the name with one field per value, where the first one was
    /// (appended when there was none): a rewritten Route set keeps its place.
    public mutating func replaceAll(_ name: SIPHeaderName, with values: [String]) {
        let position = self.fields.firstIndex(where: { $0.matches(name) }) ?? self.fields.count
        self.fields.removeAll { $0.matches(name) }
        self.fields.insert(contentsOf: values.map { SIPHeaderField(name, $0) }, at: Swift.min(position, self.fields.count))
    }

    public mutating func remove(_ name: SIPHeaderName) {
        self.fields.removeAll { $0.matches(name) }
    }

    /// Removes the first value of a list header: the first element of its first line, keeping
    /// the line's other elements (used to pop the topmost Via or Route).
    public mutating func removeFirstValue(_ name: SIPHeaderName) throws(SIPParseError) {
        guard let index = self.fields.firstIndex(where: { $0.matches(name) }) else { return }
        var values = try HeaderValueSplitter.split(self.fields[index].valueBytes, header: name.description)
        if values.count <= 1 {
            self.fields.remove(at: index)
        } else {
            values.removeFirst()
            let joined = values.map { String(sipBytes: $0) }.joined(separator: ", ")
            self.fields[index] = SIPHeaderField(name, joined)
        }
    }
}
