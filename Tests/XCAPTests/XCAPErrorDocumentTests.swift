import PresenceDocuments
import Testing
@testable import XCAP

@Suite struct XCAPErrorDocumentTests {
    let ns = XCAPErrorDocument.namespace

    @Test(arguments: [
        (XCAPErrorCondition.notWellFormed(), "not-well-formed"),
        (.notXMLFragment(), "not-xml-frag"),
        (.noParent(ancestor: nil), "no-parent"),
        (.cannotInsert(), "cannot-insert"),
        (.cannotDelete(), "cannot-delete"),
        (.notXMLAttributeValue(), "not-xml-att-value"),
        (.uniquenessFailure([]), "uniqueness-failure"),
        (.constraintFailure(), "constraint-failure"),
        (.schemaValidationError(), "schema-validation-error"),
        (.notUTF8(), "not-utf-8"),
    ])
    func everyConditionIsOneElementInTheXCAPErrorNamespace(condition: XCAPErrorCondition, name: String) throws {
        let body = XCAPErrorDocument.serialize(condition)
        #expect(body.hasPrefix(#"<?xml version="1.0" encoding="UTF-8"?>"#))
        let parsed = try XMLDocumentParser.parse(body)
        #expect(parsed.name == XMLName(self.ns, "xcap-error"))
        #expect(parsed.childElements.map(\.name) == [XMLName(self.ns, name)])
        #expect(parsed.childElements.first?.attribute("phrase") == nil)
    }

    @Test func phraseIsAnAttributeAndIsEscaped() throws {
        let body = XCAPErrorDocument.serialize(.cannotInsert(phrase: #"bad "x" & <y>"#))
        #expect(body.contains(#"<cannot-insert phrase="bad &quot;x&quot; &amp; &lt;y&gt;"/>"#))
        let parsed = try XMLDocumentParser.parse(body)
        #expect(parsed.childElements.first?.attribute("phrase") == #"bad "x" & <y>"#)
    }

    @Test func noParentCarriesTheAncestorURI() {
        let body = XCAPErrorDocument.serialize(.noParent(ancestor: "http://xcap.example.com/root/users/sip:a@b/index/~~/x"))
        #expect(
            body == #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
                + #"<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><no-parent><ancestor>http://xcap.example.com/root/users/sip:a@b/index/~~/x</ancestor></no-parent></xcap-error>"#)
    }

    @Test func uniquenessFailureListsExistsWithAlternatives() throws {
        let body = XCAPErrorDocument.serialize(.uniquenessFailure([
            XCAPUniquenessConflict(field: "rls-services/service[2]/@uri", alternativeValues: ["sip:m1@example.com", "sip:m2@example.com"])
        ], phrase: "taken"))
        #expect(body.contains(
            #"<uniqueness-failure phrase="taken"><exists field="rls-services/service[2]/@uri"><alt-value>sip:m1@example.com</alt-value><alt-value>sip:m2@example.com</alt-value></exists></uniqueness-failure>"#))
    }

    @Test func operationErrorsMapToHTTP() {
        #expect(XCAPOperationError.conflict(.cannotDelete()).status == 409)
        #expect(XCAPOperationError.conflict(.cannotDelete()).errorDocument != nil)
        #expect(XCAPOperationError.notFound(reason: "x").status == 404)
        #expect(XCAPOperationError.notFound(reason: "x").errorDocument == nil)
        #expect(XCAPOperationError.methodNotAllowed(allowed: ["GET"], reason: "x").allowHeader == "GET")
        #expect(XCAPOperationError.unsupportedMediaType(expected: "a/b", reason: "x").status == 415)
        #expect(XCAPOperationError.payloadTooLarge(reason: "x").status == 413)
        #expect(XCAPOperationError.conflict(.constraintFailure(phrase: "why")).reason == "constraint-failure: why")
    }
}
