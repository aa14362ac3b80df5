import PresenceDocuments

/// Addressing elements of a document by path: the indices into successive `children` arrays,
/// from the root (`[]` is the root itself). Paths count every child node, text included, so a
/// path stays valid for the tree it was computed on and can be used to replace in place.
extension XMLElement {
    /// The element at `path`, nil when the path leaves the tree or lands on text.
    package func element(at path: some Collection<Int>) -> XMLElement? {
        var element = self
        for index in path {
            guard element.children.indices.contains(index), case .element(let child) = element.children[index] else {
                return nil
            }
            element = child
        }
        return element
    }

    /// Applies `update` to the element at `path`; false (and no change) when there is none.
    @discardableResult
    package mutating func updateElement(at path: ArraySlice<Int>, _ update: (inout XMLElement) -> Void) -> Bool {
        guard let first = path.first else {
            update(&self)
            return true
        }
        guard self.children.indices.contains(first), case .element(var child) = self.children[first] else {
            return false
        }
        // Leave a placeholder while the child is edited, so its storage is uniquely referenced
        // and is not copied on write.
        self.children[first] = .text("")
        let updated = child.updateElement(at: path.dropFirst(), update)
        self.children[first] = .element(child)
        return updated
    }

    /// The namespace bindings in scope at the element at `path` (its own declarations included),
    /// as declarations sorted with the default namespace first; nil when there is no element there.
    package func inScopeNamespaceDeclarations(at path: some Collection<Int>) -> [XMLNamespaceDeclaration]? {
        var scope = [String: String]()
        var element = self
        for declaration in element.namespaceDeclarations { scope[declaration.prefix ?? ""] = declaration.uri }
        for index in path {
            guard element.children.indices.contains(index), case .element(let child) = element.children[index] else {
                return nil
            }
            element = child
            for declaration in element.namespaceDeclarations { scope[declaration.prefix ?? ""] = declaration.uri }
        }
        return scope.sorted { $0.key < $1.key }.map { XMLNamespaceDeclaration(prefix: $0.key.isEmpty ? nil : $0.key, uri: $0.value) }
    }

    /// The element with the declarations in scope at its position in a document (`inherited`)
    /// copied onto it, unless it declares the same prefix itself: it then reads the same when
    /// taken out of the document (RFC 4825 §15.2.1: an element resource is a standalone fragment).
    package func carryingNamespaces(_ inherited: [XMLNamespaceDeclaration]) -> XMLElement {
        var element = self
        let own = Set(self.namespaceDeclarations.map { $0.prefix ?? "" })
        for declaration in inherited where !own.contains(declaration.prefix ?? "") {
            element.namespaceDeclarations.append(declaration)
        }
        return element
    }
}
