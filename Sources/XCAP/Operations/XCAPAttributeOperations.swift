import PresenceDocuments

/// Attribute resources (`…/@name`, RFC 4825 §6.3): GET, PUT and DELETE of one attribute of the
/// element the steps select. The representation is `application/xcap-att+xml`: the value as it
/// would be written between double quotes, without the quotes (RFC 4825 §15.2.2).
public enum XCAPAttributeOperations {
    /// The attribute's value, escaped (`&amp;`, `&lt;`, `&quot;`…).
    public static func get(_ selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> String {
        _ = try Self.attributeName(of: selector)
        guard case .attribute(_, _, let value) = selector.select(in: document) else {
            throw .notFound(reason: "no attribute selected by '\(selector)'")
        }
        return XMLAttributeValueText.encode(value)
    }

    /// Sets the attribute to the body's value: `replaced` when it existed, `created` when not.
    ///
    /// The body must be an attribute value (`not-xml-att-value` otherwise): `<` and stray `&`
    /// are refused, entity and character references are resolved. When the element does not
    /// exist, 409 no-parent names its closest existing ancestor. When the new value would make
    /// the URI select another node (the attribute tested by the last step's predicate is the
    /// one being changed), 409 cannot-insert (GET(PUT(x)) must return x).
    public static func put(
        _ body: [UInt8], at selector: XCAPNodeSelector, in document: XMLElement, documentURI: String
    ) throws(XCAPOperationError) -> XCAPWriteResult {
        let name = try Self.attributeName(of: selector)
        let text = try XCAPBodyParser.utf8Text(body)
        guard let value = XMLAttributeValueText.decode(text) else {
            throw .conflict(.notXMLAttributeValue(phrase: "'<' and '&' must be written as references in an attribute value"))
        }
        let path: [Int]
        switch selector.matchElements(in: document) {
        case .none:
            let ancestor = selector.closestExistingAncestorURI(
                below: selector.steps.count - 1, in: document, documentURI: documentURI)
            throw .conflict(.noParent(ancestor: ancestor, phrase: "no element at '\(selector.elementSelector)'"))
        case .many:
            throw .notFound(reason: "node selector '\(selector.elementSelector)' selects more than one element")
        case .one(let selected):
            path = selected
        }
        var existed = false
        var result = document
        result.updateElement(at: path[...]) { element in
            if let index = element.attributes.firstIndex(where: { $0.name == name }) {
                existed = true
                element.attributes[index].value = value
            } else {
                element.attributes.append(XMLAttribute(name, value))
            }
        }
        guard selector.select(in: result) == .attribute(path: path, name: name, value: value) else {
            throw .conflict(.cannotInsert(phrase: "with the new value '\(selector)' would no longer select this attribute"))
        }
        return XCAPWriteResult(document: result, outcome: existed ? .replaced : .created)
    }

    /// Removes the attribute; 404 when it does not exist, 409 cannot-delete when the URI would
    /// then select another attribute.
    public static func delete(at selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> XMLElement {
        let name = try Self.attributeName(of: selector)
        guard case .attribute(let path, _, _) = selector.select(in: document) else {
            throw .notFound(reason: "no attribute selected by '\(selector)'")
        }
        var result = document
        result.updateElement(at: path[...]) { $0.attributes.removeAll { $0.name == name } }
        guard selector.select(in: result) == nil else {
            throw .conflict(.cannotDelete(phrase: "after the deletion '\(selector)' would select another attribute"))
        }
        return result
    }

    private static func attributeName(of selector: XCAPNodeSelector) throws(XCAPOperationError) -> XMLName {
        guard case .attribute(let name) = selector.terminal else {
            throw .badRequest(reason: "'\(selector)' does not select an attribute")
        }
        return name
    }
}
