import PresenceDocuments

/// How many elements an element selector picks out of a document.
public enum XCAPElementMatch: Sendable, Hashable {
    case none
    /// Exactly one, at this path (child indices from the root, see `XMLElement.element(at:)`).
    case one(path: [Int])
    /// More than one: XCAP treats this as selecting nothing (RFC 4825 §6.3: a node selector
    /// identifies a single node; §8.3: otherwise 404).
    case many
}

/// The single node a node selector identifies.
public enum XCAPSelection: Sendable, Hashable {
    case element(path: [Int])
    case attribute(path: [Int], name: XMLName, value: String)
    /// The namespace bindings in scope at the element at `path`.
    case namespaces(path: [Int])
}

extension XCAPNodeSelector {
    /// Paths of every element the element steps select, in document order.
    ///
    /// The first step is matched against the document root (RFC 4825 §6.3: the document is the
    /// context, the root element its only child), so `[n]` on it is only satisfied by 1. On later
    /// steps the position counts the children that pass the step's name test — every child
    /// element for `*` — and only then is the attribute test applied (`a[2][@x="y"]` is the
    /// second `a`, provided it has `x="y"`), as in XPath, whose subset the selector is.
    public func elementPaths(in document: XMLElement) -> [[Int]] {
        guard let first = self.steps.first, Self.matchesRoot(first, document) else { return [] }
        var frontier: [(path: [Int], element: XMLElement)] = [([], document)]
        for step in self.steps.dropFirst() {
            var next = [(path: [Int], element: XMLElement)]()
            for (path, element) in frontier {
                var count = 0
                for (index, node) in element.children.enumerated() {
                    guard case .element(let child) = node, step.nameTest.matches(child) else { continue }
                    count += 1
                    if let position = step.position, position != count { continue }
                    if let test = step.attributeTest, !test.matches(child) { continue }
                    next.append((path + [index], child))
                }
            }
            frontier = next
            if frontier.isEmpty { break }
        }
        return frontier.map(\.path)
    }

    /// Whether the element steps select no element, exactly one, or several.
    public func matchElements(in document: XMLElement) -> XCAPElementMatch {
        let paths = self.elementPaths(in: document)
        switch paths.count {
        case 0: return .none
        case 1: return .one(path: paths[0])
        default: return .many
        }
    }

    /// The node the whole selector, terminal included, identifies; nil when it identifies no
    /// node or more than one (both are 404 for XCAP, RFC 4825 §8.3).
    public func select(in document: XMLElement) -> XCAPSelection? {
        guard case .one(let path) = self.matchElements(in: document) else { return nil }
        switch self.terminal {
        case nil:
            return .element(path: path)
        case .namespaces:
            return .namespaces(path: path)
        case .attribute(let name):
            guard let element = document.element(at: path),
                let attribute = element.attributes.first(where: { $0.name == name })
            else { return nil }
            return .attribute(path: path, name: name, value: attribute.value)
        }
    }

    private static func matchesRoot(_ step: Step, _ root: XMLElement) -> Bool {
        guard step.nameTest.matches(root) else { return false }
        if let position = step.position, position != 1 { return false }
        if let test = step.attributeTest, !test.matches(root) { return false }
        return true
    }
}
