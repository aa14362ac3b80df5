import PresenceDocuments

/// Element resources: GET (RFC 4825 §8.3), PUT (§8.2) and DELETE (§8.4) of the element a
/// node selector names, as pure functions from a document to a document.
///
/// The selector's terminal selector is ignored here; `XCAPNodeOperations` dispatches on it.
public enum XCAPElementOperations {
    /// The selected element as an `application/xcap-el+xml` fragment, without an XML declaration.
    /// The namespace bindings it inherits in the document are declared on it, so the fragment
    /// reads the same on its own: `<list xmlns="urn:ietf:params:xml:ns:resource-lists" name="rcs">`.
    public static func get(_ selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> String {
        let path = try Self.selectedPath(selector, in: document)
        guard let element = document.element(at: path) else { throw .notFound(reason: "no element at '\(selector)'") }
        let inherited = path.isEmpty ? [] : document.inScopeNamespaceDeclarations(at: path.dropLast()) ?? []
        return XMLSerializer.serialize(element.carryingNamespaces(inherited), declaration: false)
    }

    /// Replaces the selected element with the body, or inserts the body as a new element.
    ///
    /// Insertion (RFC 4825 §8.2.3): the element is added as a child of the element the steps but
    /// the last select; when there is none, 409 no-parent names the closest existing ancestor.
    /// With a position `[n]` the element goes where it becomes the n-th child passing the name
    /// test: right after the (n−1)-th (before the first for `[1]`); without one, after the last
    /// sibling with the same name, or at the end of the parent. Either way the request
    /// URI must then select exactly the new element (GET(PUT(x)) returns x): otherwise 409
    /// cannot-insert. That rule also refuses a body whose name or attribute contradicts the last
    /// step (see `XCAPPutOptions.acceptsMismatchedAttributeTest` for the one tolerated case).
    ///
    /// - Parameters:
    ///   - body: the `application/xcap-el+xml` body, a single element.
    ///   - documentURI: the absolute URI of the document, for the `<ancestor>` of no-parent.
    public static func put(
        _ body: [UInt8], at selector: XCAPNodeSelector, in document: XMLElement, documentURI: String,
        options: XCAPPutOptions = .strict
    ) throws(XCAPOperationError) -> XCAPWriteResult {
        let selector = selector.elementSelector
        switch selector.matchElements(in: document) {
        case .many:
            throw .notFound(reason: "node selector '\(selector)' selects more than one element")
        case .one(let path):
            return try Self.replace(at: path, with: body, selector: selector, in: document, options: options)
        case .none:
            return try Self.insert(body, selector: selector, in: document, documentURI: documentURI, options: options)
        }
    }

    /// Removes the selected element. RFC 4825 §8.4: when the same URI would then select another
    /// element (`entry[1]` with a second entry behind it), the DELETE is refused with 409
    /// cannot-delete, so that DELETE stays idempotent.
    public static func delete(at selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> XMLElement {
        let selector = selector.elementSelector
        let path = try Self.selectedPath(selector, in: document)
        guard let index = path.last else {
            throw .conflict(.cannotDelete(phrase: "the root element cannot be deleted; delete the document instead"))
        }
        var result = document
        result.updateElement(at: path.dropLast()) { parent in
            parent.children.remove(at: index)
            Self.mergeTextNodes(around: index, in: &parent)
        }
        guard case .none = selector.matchElements(in: result) else {
            throw .conflict(.cannotDelete(phrase: "after the deletion '\(selector)' would select another element"))
        }
        return result
    }

    // MARK: - PUT

    private static func replace(
        at path: [Int], with body: [UInt8], selector: XCAPNodeSelector, in document: XMLElement, options: XCAPPutOptions
    ) throws(XCAPOperationError) -> XCAPWriteResult {
        // The new element is read in the scope of its parent (the root's parent is the document).
        let scope = path.isEmpty ? [] : document.inScopeNamespaceDeclarations(at: path.dropLast()) ?? []
        let element = try XCAPBodyParser.parseElementFragment(body, inScope: scope, limits: options.limits)
        var result = document
        result.updateElement(at: path[...]) { $0 = element }
        try Self.verifySelection(of: path, by: selector, in: result, body: element, options: options)
        return XCAPWriteResult(document: result, outcome: .replaced)
    }

    private static func insert(
        _ body: [UInt8], selector: XCAPNodeSelector, in document: XMLElement, documentURI: String, options: XCAPPutOptions
    ) throws(XCAPOperationError) -> XCAPWriteResult {
        guard selector.steps.count > 1 else {
            // Parse first: a broken body is reported as such rather than as a placement problem.
            _ = try XCAPBodyParser.parseElementFragment(body, inScope: [], limits: options.limits)
            throw .conflict(.cannotInsert(phrase: "a document has one root element and it does not match '\(selector)'"))
        }
        let parentSelector = selector.leadingSteps(selector.steps.count - 1)
        let parentPath: [Int]
        switch parentSelector.matchElements(in: document) {
        case .none:
            let ancestor = selector.closestExistingAncestorURI(
                below: selector.steps.count - 2, in: document, documentURI: documentURI)
            throw .conflict(.noParent(ancestor: ancestor, phrase: "no element at '\(parentSelector)'"))
        case .many:
            throw .notFound(reason: "parent selector '\(parentSelector)' selects more than one element")
        case .one(let path):
            parentPath = path
        }
        guard let parent = document.element(at: parentPath), let scope = document.inScopeNamespaceDeclarations(at: parentPath) else {
            throw .notFound(reason: "no element at '\(parentSelector)'")
        }
        let element = try XCAPBodyParser.parseElementFragment(body, inScope: scope, limits: options.limits)
        let step = selector.steps[selector.steps.count - 1]
        guard let index = Self.insertionIndex(of: element, for: step, in: parent) else {
            let position = step.position.map(String.init) ?? "?"
            throw .conflict(.cannotInsert(phrase: "there is no position \(position) for '\(step.text)' among the parent's children"))
        }
        var result = document
        result.updateElement(at: parentPath[...]) { $0.children.insert(.element(element), at: index) }
        try Self.verifySelection(of: parentPath + [index], by: selector, in: result, body: element, options: options)
        return XCAPWriteResult(document: result, outcome: .created)
    }

    /// Where in `parent.children` a new element goes so that `step` selects it (RFC 4825 §8.2.3);
    /// nil when no place works (`[n]` with fewer than n−1 siblings passing the name test, `[0]`).
    static func insertionIndex(of element: XMLElement, for step: XCAPNodeSelector.Step, in parent: XMLElement) -> Int? {
        // `*` without a position places the element among the siblings that share its own name.
        var nameTest = step.nameTest
        if case .any = nameTest, step.position == nil { nameTest = .name(element.name) }
        let siblings = parent.children.indices.filter {
            if case .element(let child) = parent.children[$0] { return nameTest.matches(child) }
            return false
        }
        guard let position = step.position else {
            return siblings.last.map { $0 + 1 } ?? parent.children.count
        }
        // `[n]` needs n−1 siblings before it: it goes right after the (n−1)-th, or, for `[1]`,
        // right before the first (at the end when there is none).
        guard position >= 1, siblings.count >= position - 1 else { return nil }
        if position == 1 { return siblings.first ?? parent.children.count }
        return siblings[position - 2] + 1
    }

    /// GET(PUT(x)) == x: the request URI must select exactly the element just written.
    private static func verifySelection(
        of path: [Int], by selector: XCAPNodeSelector, in result: XMLElement, body: XMLElement, options: XCAPPutOptions
    ) throws(XCAPOperationError) {
        if case .one(let selected) = selector.matchElements(in: result), selected == path { return }
        if options.acceptsMismatchedAttributeTest, let relaxed = selector.withLastAttributeTestValue(from: body),
            case .one(let selected) = relaxed.matchElements(in: result), selected == path
        {
            return
        }
        throw .conflict(.cannotInsert(phrase: Self.mismatchPhrase(selector: selector, body: body)))
    }

    private static func mismatchPhrase(selector: XCAPNodeSelector, body: XMLElement) -> String {
        guard let step = selector.steps.last else { return "the request URI would not select the new element" }
        if !step.nameTest.matches(body) {
            return "element \(body.name) does not match step '\(step.text)'"
        }
        if let test = step.attributeTest, !test.matches(body) {
            let actual = body.attributes.first { $0.name == test.name }?.value
            return "attribute \(test.name)=\(actual.map { "'\($0)'" } ?? "(absent)") of the element does not match step '\(step.text)'"
        }
        return "the request URI would not select the new element (GET after PUT must return it)"
    }

    // MARK: - Shared

    /// The path of the single element the selector names, or 404.
    static func selectedPath(_ selector: XCAPNodeSelector, in document: XMLElement) throws(XCAPOperationError) -> [Int] {
        switch selector.matchElements(in: document) {
        case .one(let path): return path
        case .none: throw .notFound(reason: "no element selected by '\(selector.elementSelector)'")
        case .many: throw .notFound(reason: "node selector '\(selector.elementSelector)' selects more than one element")
        }
    }

    /// After a removal at `index`, joins the text nodes that became neighbours, so the tree is
    /// the one its serialization parses back to.
    private static func mergeTextNodes(around index: Int, in parent: inout XMLElement) {
        guard index > 0, index < parent.children.count,
            case .text(let before) = parent.children[index - 1], case .text(let after) = parent.children[index]
        else { return }
        parent.children[index - 1] = .text(before + after)
        parent.children.remove(at: index)
    }
}
