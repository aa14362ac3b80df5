import PresenceDocuments

extension XCAPNodeSelector {
    /// The absolute URI of the node this selector names in the document at `documentURI`:
    /// `documentURI/~~/steps`, percent-encoded as RCS clients write it
    /// (`…/index/~~/resource-lists/list%5B@name=%22rcs%22%5D`), with an `xmlns()` query when the
    /// selector was parsed with prefix bindings (RFC 4825 §6.4).
    public func uri(documentURI: String) -> String {
        var uri = documentURI + "/~~/" + XCAPPercentEncoding.encodeNodeSelector(self.description)
        if let query = XCAPNamespaceBindings.query(for: self.namespaceBindings) {
            uri += "?" + XCAPPercentEncoding.encodeNodeSelector(query)
        }
        return uri
    }

    /// The URI of the closest ancestor, among the first `limit` steps, that exists in `document`
    /// (the `<ancestor>` of a no-parent error, RFC 4825 §11.2); the document's URI when even the
    /// root does not match.
    func closestExistingAncestorURI(below limit: Int, in document: XMLElement, documentURI: String) -> String {
        var count = min(limit, self.steps.count)
        while count > 0 {
            let ancestor = self.leadingSteps(count)
            if case .one = ancestor.matchElements(in: document) { return ancestor.uri(documentURI: documentURI) }
            count -= 1
        }
        return documentURI
    }

    /// The selector with the last step's attribute test taking its value from `element`, if the
    /// element has that attribute; used by `XCAPPutOptions.acceptsMismatchedAttributeTest`.
    func withLastAttributeTestValue(from element: XMLElement) -> XCAPNodeSelector? {
        guard let last = self.steps.last, let test = last.attributeTest,
            let value = element.attributes.first(where: { $0.name == test.name })?.value
        else { return nil }
        var relaxed = self
        relaxed.steps[relaxed.steps.count - 1].attributeTest = AttributeTest(name: test.name, value: value)
        return relaxed
    }
}
