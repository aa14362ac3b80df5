#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// Limits on documents taken off the wire (SIP bodies, XCAP PUTs).
public struct XMLLimits: Sendable, Equatable {
    public var maxBytes: Int
    public var maxDepth: Int
    public var maxElements: Int

    public init(maxBytes: Int = 256 * 1024, maxDepth: Int = 32, maxElements: Int = 10_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxElements = maxElements
    }
}

public struct XMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable { case notWellFormed, doctypeForbidden, notUTF8, tooLarge, tooDeep, tooManyElements }
    public var code: Code
    public var reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { self.reason }
}

/// Parses bytes into an `XMLElement` tree with Foundation's streaming `XMLParser` (which never
/// loads external entities), rejecting DTDs outright so no entity can be declared or expanded,
/// and capping size, depth and element count.
public enum XMLDocumentParser {
    public static func parse(_ bytes: [UInt8], limits: XMLLimits = XMLLimits()) throws(XMLError) -> XMLElement {
        guard bytes.count <= limits.maxBytes else {
            throw XMLError(.tooLarge, "XML document larger than \(limits.maxBytes) bytes")
        }
        if let problem = Self.encodingProblem(bytes) { throw XMLError(.notUTF8, problem) }
        if Self.containsDeclaration(bytes) {
            throw XMLError(.doctypeForbidden, "XML document with a DOCTYPE or ENTITY declaration is not accepted")
        }
        let delegate = TreeBuilder(limits: limits)
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        let succeeded = parser.parse()
        if let limitError = delegate.limitError { throw limitError }
        // XMLParser may return true on malformed input: its error is the authority.
        if let error = parser.parserError ?? delegate.error {
            throw XMLError(.notWellFormed, "XML not well-formed: \(Self.describe(error, parser: parser))")
        }
        guard succeeded, let root = delegate.root else {
            throw XMLError(.notWellFormed, "XML not well-formed: no root element")
        }
        if let problem = delegate.namespaceProblem { throw XMLError(.notWellFormed, "XML not well-formed: \(problem)") }
        return root
    }

    public static func parse(_ text: String, limits: XMLLimits = XMLLimits()) throws(XMLError) -> XMLElement {
        try Self.parse(Array(text.utf8), limits: limits)
    }

    static func describe(_ error: any Error, parser: XMLParser) -> String {
        let nsError = error as NSError
        return "line \(parser.lineNumber), column \(parser.columnNumber) (code \(nsError.code))"
    }

    /// Only UTF-8 documents are parsed, so that the DTD scan below reads the bytes as the parser
    /// will: a UTF-16 body (markup interleaved with NUL bytes), an EBCDIC one or one that declares
    /// another encoding would carry a DOCTYPE the scan cannot see, which libxml2 would then
    /// decode and process. (XCAP bodies must be UTF-8 anyway, RFC 4825 §8.2.2.)
    static func encodingProblem(_ bytes: [UInt8]) -> String? {
        if bytes.contains(0) { return "XML document is not UTF-8 (it contains NUL bytes)" }
        guard String(validating: bytes, as: UTF8.self) != nil else { return "XML document is not valid UTF-8" }
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let text = bytes[start...]
        guard text.starts(with: "<?xml".utf8), text.count > 5, [0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: "?")].contains(text[start + 5]),
            let close = text.prefix(512).firstRange(of: "?>".utf8)  // unterminated: the parser reports it
        else { return nil }
        let declaration = Substring(decoding: text[text.startIndex..<close.lowerBound], as: UTF8.self)
        guard let encoding = Self.declaredEncoding(in: declaration), !Self.namesUTF8(encoding) else { return nil }
        return "XML document declares encoding '\(encoding)'; only UTF-8 is accepted"
    }

    /// The `encoding` pseudo-attribute of an XML declaration (XML 1.0 §4.3.3), `"…"` or `'…'`.
    public static func declaredEncoding(in declaration: Substring) -> Substring? {
        guard let range = declaration.firstRange(of: "encoding") else { return nil }
        var rest = declaration[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(of: quote) else { return nil }
        return rest[..<close]
    }

    public static func namesUTF8(_ encoding: Substring) -> Bool {
        let name = encoding.lowercased()
        return name == "utf-8" || name == "utf8"
    }

    /// `<!DOCTYPE` or `<!ENTITY` anywhere, in any case: DTDs are how entity expansion attacks start.
    static func containsDeclaration(_ bytes: [UInt8]) -> Bool {
        let markers: [[UInt8]] = [Array("<!doctype".utf8), Array("<!entity".utf8)]
        guard bytes.count >= 8 else { return false }
        var index = 0
        while index + 8 <= bytes.count {
            if bytes[index] == UInt8(ascii: "<"), bytes[index + 1] == UInt8(ascii: "!") {
                for marker in markers where index + marker.count <= bytes.count {
                    var matches = true
                    for offset in 2..<marker.count where (bytes[index + offset] | 0x20) != marker[offset] {
                        matches = false
                        break
                    }
                    if matches { return true }
                }
            }
            index += 1
        }
        return false
    }
}

/// Builds the tree from parser events.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    let limits: XMLLimits
    var stack: [XMLElement] = []
    var prefixScopes: [[String: String]] = [[:]]
    var pendingDeclarations: [XMLNamespaceDeclaration] = []
    var root: XMLElement?
    var error: (any Error)?
    var limitError: XMLError?
    var namespaceProblem: String?
    var elementCount = 0

    init(limits: XMLLimits) {
        self.limits = limits
    }

    func parser(_ parser: XMLParser, didStartMappingPrefix prefix: String, toURI namespaceURI: String) {
        self.pendingDeclarations.append(XMLNamespaceDeclaration(prefix: prefix.isEmpty ? nil : prefix, uri: namespaceURI))
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        self.elementCount += 1
        if self.stack.count >= self.limits.maxDepth {
            self.limitError = XMLError(.tooDeep, "XML document nested deeper than \(self.limits.maxDepth) elements")
            parser.abortParsing()
            return
        }
        if self.elementCount > self.limits.maxElements {
            self.limitError = XMLError(.tooManyElements, "XML document with more than \(self.limits.maxElements) elements")
            parser.abortParsing()
            return
        }
        var scope = self.prefixScopes.last ?? [:]
        for declaration in self.pendingDeclarations { scope[declaration.prefix ?? ""] = declaration.uri }
        self.prefixScopes.append(scope)
        let qualified = qualifiedName ?? elementName
        var prefix: String?
        if let colon = qualified.firstIndex(of: ":") {
            let candidate = String(qualified[..<colon])
            prefix = candidate
            if scope[candidate] == nil { self.namespaceProblem = "undefined namespace prefix '\(candidate)'" }
        }
        var parsedAttributes = [XMLAttribute]()
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            if key == "xmlns" || key.hasPrefix("xmlns:") { continue }
            if let colon = key.firstIndex(of: ":") {
                let attributePrefix = String(key[..<colon])
                let local = String(key[key.index(after: colon)...])
                let namespace = attributePrefix == "xml" ? "http://www.w3.org/XML/1998/namespace" : scope[attributePrefix]
                guard let namespace else {
                    self.namespaceProblem = "undefined namespace prefix '\(attributePrefix)'"
                    continue
                }
                parsedAttributes.append(XMLAttribute(XMLName(namespace, local), value))
            } else {
                parsedAttributes.append(XMLAttribute(XMLName("", key), value))
            }
        }
        // Foundation reports prefix mappings in no fixed order: sort them, so equal documents give
        // equal trees and equal serializations (stable ETags).
        let declarations = self.pendingDeclarations.sorted { ($0.prefix ?? "") < ($1.prefix ?? "") }
        let element = XMLElement(
            XMLName(namespaceURI ?? "", elementName), prefix: prefix, attributes: parsedAttributes,
            namespaceDeclarations: declarations)
        self.pendingDeclarations = []
        self.stack.append(element)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = self.stack.popLast() else { return }
        self.prefixScopes.removeLast()
        if self.stack.isEmpty {
            if self.root == nil { self.root = element } else { self.namespaceProblem = "more than one root element" }
        } else {
            self.stack[self.stack.count - 1].children.append(.element(element))
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        self.appendText(string)
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        self.appendText(String(decoding: CDATABlock, as: UTF8.self))
    }

    private func appendText(_ string: String) {
        guard !self.stack.isEmpty else {
            if !string.allSatisfy({ $0.isWhitespace }) { self.namespaceProblem = "text outside the root element" }
            return
        }
        let last = self.stack.count - 1
        if case .text(let previous)? = self.stack[last].children.last {
            self.stack[last].children[self.stack[last].children.count - 1] = .text(previous + string)
        } else {
            self.stack[last].children.append(.text(string))
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if self.error == nil { self.error = parseError }
    }

    func parser(_ parser: XMLParser, validationErrorOccurred validationError: any Error) {
        if self.error == nil { self.error = validationError }
    }

    func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
        nil
    }
}
