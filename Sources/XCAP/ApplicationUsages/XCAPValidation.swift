import PresenceDocuments

/// Building blocks for application usage validation: schema errors, uniqueness among siblings,
/// and the node selector that names an offending field in an `<exists>` element.
package enum XCAPValidation {
    package static func schemaError(_ phrase: String) -> XCAPOperationError {
        .conflict(.schemaValidationError(phrase: phrase))
    }

    package static func constraintFailure(_ phrase: String) -> XCAPOperationError {
        .conflict(.constraintFailure(phrase: phrase))
    }

    /// A schema error unless the root element is `name`.
    package static func requireRoot(_ document: XMLElement, _ name: XMLName) -> XCAPOperationError? {
        document.name == name ? nil : Self.schemaError("root element is \(document.name), expected \(name)")
    }

    /// The child elements of `element` with their indices in `children`.
    package static func childElements(of element: XMLElement) -> [(index: Int, element: XMLElement)] {
        element.children.enumerated().compactMap { index, node in
            if case .element(let child) = node { return (index, child) }
            return nil
        }
    }

    /// A uniqueness failure for the attribute at `path`/`attribute` (RFC 4825 §11: `<exists field>`).
    package static func uniquenessFailure(
        document: XMLElement, path: [Int], attribute: String, alternatives: [String] = [], phrase: String
    ) -> XCAPOperationError {
        let field = Self.fieldSelector(for: path, in: document, attribute: attribute)
        return .conflict(.uniquenessFailure([XCAPUniquenessConflict(field: field, alternativeValues: alternatives)], phrase: phrase))
    }

    /// The first repeated value of `attribute` among the children of the element at
    /// `parentPath` that `isCandidate` picks, with the path of the repeat.
    package static func firstRepeatedAttribute(
        _ attribute: String, amongChildrenOf parent: XMLElement, at parentPath: [Int], where isCandidate: (XMLElement) -> Bool
    ) -> (path: [Int], value: String)? {
        var seen = Set<String>()
        for (index, child) in Self.childElements(of: parent) where isCandidate(child) {
            guard let value = child.attribute(attribute) else { continue }
            if !seen.insert(value).inserted { return (parentPath + [index], value) }
        }
        return nil
    }

    /// A node selector, relative to the document, naming the element at `path` (and its
    /// `attribute`): each step is the element's name as written, with `[n]` when it has
    /// same-named siblings, e.g. `resource-lists/list[2]/entry[3]/@uri`.
    package static func fieldSelector(for path: [Int], in document: XMLElement, attribute: String? = nil) -> String {
        var steps = [Self.qualifiedName(document)]
        var element = document
        for index in path {
            guard case .element(let child)? = element.children[safe: index] else { break }
            let sameNamed = Self.childElements(of: element).filter { $0.element.name == child.name }
            var step = Self.qualifiedName(child)
            if sameNamed.count > 1, let position = sameNamed.firstIndex(where: { $0.index == index }) {
                step += "[\(position + 1)]"
            }
            steps.append(step)
            element = child
        }
        if let attribute { steps.append("@" + attribute) }
        return steps.joined(separator: "/")
    }

    private static func qualifiedName(_ element: XMLElement) -> String {
        element.prefix.map { "\($0):\(element.name.local)" } ?? element.name.local
    }

    /// Whether `text` starts with a URI scheme (`http:`, `sip:`…): an absolute URI (RFC 3986 §3.1).
    package static func hasScheme(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let scheme = text[..<colon]
        guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) else {
            return false
        }
        return scheme.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "+" || $0 == "-" || $0 == "."
        }
    }

    /// Whether `text` is an absolute `http:` or `https:` URI.
    package static func isHTTPURI(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return (lowered.hasPrefix("http://") && lowered.count > 7) || (lowered.hasPrefix("https://") && lowered.count > 8)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? {
        self.indices.contains(index) ? self[index] : nil
    }
}
