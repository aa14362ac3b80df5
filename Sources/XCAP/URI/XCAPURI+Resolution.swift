import PresenceDocuments

extension XCAPURI {
    /// The URI's node selector parsed for `usage` (its default namespace, the query's bindings);
    /// nil when the URI names a whole document. A selector that does not parse is a 400.
    public func parsedNodeSelector(for usage: any XCAPApplicationUsage) throws(XCAPOperationError) -> XCAPNodeSelector? {
        guard let text = self.nodeSelector else { return nil }
        do {
            return try XCAPNodeSelector.parse(text, namespaceBindings: self.namespaceBindings, defaultNamespace: usage.defaultNamespace)
        } catch {
            throw error.operationError
        }
    }

    /// The response when the document this URI points into does not exist: 404 for a GET or
    /// DELETE, and for a PUT of a document (which creates it instead, so this is not called).
    /// A PUT of an element or attribute into a missing document has no parent: 409 no-parent
    /// naming the XCAP root at `origin` as the closest existing ancestor (RFC 4825 §8.2.1).
    public func missingDocumentError(origin: String, isPut: Bool) -> XCAPOperationError {
        guard isPut, self.nodeSelector != nil else {
            return .notFound(reason: "no document '\(self.documentName)'")
        }
        var root = origin
        while root.hasSuffix("/") { root.removeLast() }
        return .conflict(.noParent(ancestor: root + self.xcapRoot + "/", phrase: "document '\(self.documentName)' does not exist"))
    }
}

extension XCAPApplicationUsageRegistry {
    /// The usage that serves `uri`: 404 when the AUID is unknown or the usage keeps no documents
    /// in the URI's tree (RFC 4825 §6.2).
    public func usage(for uri: XCAPURI) throws(XCAPOperationError) -> any XCAPApplicationUsage {
        guard let usage = self[uri.auid] else { throw .notFound(reason: "unknown application usage '\(uri.auid)'") }
        guard usage.supports(uri.tree) else {
            let tree = uri.xui == nil ? "global" : "users"
            throw .notFound(reason: "\(uri.auid) keeps no documents in the \(tree) tree")
        }
        return usage
    }
}
