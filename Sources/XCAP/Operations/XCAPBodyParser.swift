import PresenceDocuments

/// Turns request bodies into trees, with XCAP's error conditions: `not-utf-8`,
/// `not-well-formed` and `not-xml-frag` (RFC 4825 §11.2).
public enum XCAPBodyParser {
    /// Parses a whole document (a document PUT, RFC 4825 §8.2.2): UTF-8, well-formed, no DTD.
    public static func parseDocument(_ body: [UInt8], limits: XMLLimits = XMLLimits()) throws(XCAPOperationError) -> XMLElement {
        guard body.count <= limits.maxBytes else {
            throw .payloadTooLarge(reason: "document larger than \(limits.maxBytes) bytes")
        }
        // The parser refuses anything but UTF-8 (`not-utf-8` below), declared or not.
        do {
            return try XMLDocumentParser.parse(body, limits: limits)
        } catch {
            throw Self.operationError(for: error)
        }
    }

    /// Parses the body of an element PUT (`application/xcap-el+xml`, RFC 4825 §8.2.3): exactly one
    /// element, whose prefixes may be bound by the document at the insertion point.
    ///
    /// The fragment is parsed inside a synthetic element that declares `inScope` (the bindings in
    /// scope at the new element's parent), so `<rl:entry>` in a body resolves as it will in the
    /// document. The returned element carries only the declarations written on it.
    public static func parseElementFragment(
        _ body: [UInt8], inScope: [XMLNamespaceDeclaration], limits: XMLLimits = XMLLimits()
    ) throws(XCAPOperationError) -> XMLElement {
        guard body.count <= limits.maxBytes else {
            throw .payloadTooLarge(reason: "element larger than \(limits.maxBytes) bytes")
        }
        let whole = try Self.utf8Text(body)
        let leading = Self.droppingByteOrderMark(whole[...]).drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        let text = try Self.droppingXMLDeclaration(leading)
        var wrapped = "<xcap-fragment"
        for declaration in inScope {
            wrapped += declaration.prefix.map { " xmlns:\($0)=\"" } ?? " xmlns=\""
            wrapped += XMLSerializer.escape(declaration.uri, quote: true) + "\""
        }
        wrapped += ">" + text + "</xcap-fragment>"
        var wrapperLimits = limits
        wrapperLimits.maxBytes = wrapped.utf8.count
        wrapperLimits.maxDepth = limits.maxDepth + 1
        wrapperLimits.maxElements = limits.maxElements + 1
        let wrapper: XMLElement
        do {
            wrapper = try XMLDocumentParser.parse(wrapped, limits: wrapperLimits)
        } catch {
            throw Self.operationError(for: error)
        }
        var element: XMLElement?
        for child in wrapper.children {
            switch child {
            case .text(let text) where text.trimmingXMLSpace().isEmpty:
                continue
            case .text:
                throw .conflict(.notXMLFragment(phrase: "text outside the element"))
            case .element(let child):
                guard element == nil else { throw .conflict(.notXMLFragment(phrase: "more than one element")) }
                element = child
            }
        }
        guard let element else { throw .conflict(.notXMLFragment(phrase: "no element in the body")) }
        return element
    }

    /// The body as text, or `not-utf-8` (RFC 4825 §8.2.2: XCAP bodies are UTF-8).
    static func utf8Text(_ body: [UInt8]) throws(XCAPOperationError) -> String {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw .conflict(.notUTF8(phrase: "body is not valid UTF-8"))
        }
        return text
    }

    static func droppingByteOrderMark(_ text: Substring) -> Substring {
        text.hasPrefix("\u{FEFF}") ? text.dropFirst() : text
    }

    /// The text after an XML declaration, if there is one; `not-utf-8` when the declaration names
    /// another encoding.
    static func droppingXMLDeclaration(_ text: Substring) throws(XCAPOperationError) -> Substring {
        guard text.hasPrefix("<?xml"), let next = text.dropFirst(5).first, next == " " || next == "\t" || next == "\r" || next == "\n" || next == "?"
        else { return text }
        guard let end = text.firstRange(of: "?>") else {
            throw .conflict(.notWellFormed(phrase: "unterminated XML declaration"))
        }
        let declaration = text[..<end.lowerBound]
        if let encoding = XMLDocumentParser.declaredEncoding(in: declaration) {
            guard XMLDocumentParser.namesUTF8(encoding) else {
                throw .conflict(.notUTF8(phrase: "declared encoding '\(encoding)' is not UTF-8"))
            }
        }
        return text[end.upperBound...]
    }

    /// XML parser failures as XCAP conditions.
    static func operationError(for error: XMLError) -> XCAPOperationError {
        switch error.code {
        case .notWellFormed, .doctypeForbidden: .conflict(.notWellFormed(phrase: error.reason))
        case .notUTF8: .conflict(.notUTF8(phrase: error.reason))
        case .tooLarge: .payloadTooLarge(reason: error.reason)
        case .tooDeep, .tooManyElements: .conflict(.constraintFailure(phrase: error.reason))
        }
    }
}
