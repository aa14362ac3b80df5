import PresenceDocuments
import Testing
@testable import XCAP

/// Documents and helpers shared by the XCAP tests.
enum XCAPFixtures {
    static let documentURI = "http://xcap.example.com/resource-lists/users/sip%3Ajoe%40example.com/index"

    /// The resource-lists example of RFC 4826 §3.3 (friends, with a nested close-friends list).
    static let resourceLists = """
        <?xml version="1.0" encoding="UTF-8"?>
        <resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
          <list name="friends">
            <entry uri="sip:bill@example.com">
              <display-name>Bill Doe</display-name>
            </entry>
            <entry-ref ref="resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d"/>
            <list name="close-friends">
              <display-name>Close Friends</display-name>
              <entry uri="sip:joe@example.com">
                <display-name>Joe Smith</display-name>
              </entry>
              <entry uri="sip:nancy@example.com">
                <display-name>Nancy Gross</display-name>
              </entry>
              <external anchor="http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkting%22%5d">
                <display-name>Marketing</display-name>
              </external>
            </list>
          </list>
        </resource-lists>
        """

    /// The document RFC 4825 §8.2.3 uses to explain where a PUT inserts an element (its comment
    /// is dropped by the parser, leaving the white space around it).
    static let insertionExample = """
        <root xmlns="urn:test-app">
        <el1 att="first"/>
        <el1 att="second"/>
        <!-- comment -->
        <el2 att="first"/>
        </root>
        """

    /// A watcherinfo document with a foreign-namespace child, in the style of RFC 4825 §6.3.
    static let watcherInfo = """
        <watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" xmlns:ns2="urn:ietf:params:xml:ns:pidf">
          <watcher-list resource="sip:professor@example.net" package="presence">
            <watcher status="active" id="8ajksjda7s" duration-subscribed="509" event="approved">sip:userA@example.net</watcher>
            <watcher status="pending" id="hh8juja87s997-ass7" display-name="Mr. Subscriber" event="subscribe">sip:userB@example.org</watcher>
            <ns2:tuple id="8984"><ns2:status><ns2:basic>open</ns2:basic></ns2:status></ns2:tuple>
          </watcher-list>
        </watcherinfo>
        """

    static let watcherInfoNamespace = "urn:ietf:params:xml:ns:watcherinfo"
    static let pidfNamespace = "urn:ietf:params:xml:ns:pidf"

    static func document(_ text: String) throws -> XMLElement {
        try XMLDocumentParser.parse(text)
    }

    static func selector(
        _ text: String, defaultNamespace: String = ResourceListsUsage.namespace, bindings: [String: String] = [:]
    ) throws -> XCAPNodeSelector {
        try XCAPNodeSelector.parse(text, namespaceBindings: bindings, defaultNamespace: defaultNamespace)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}

/// The `XCAPOperationError` an operation throws, nil when it succeeds (any other error is
/// recorded as a test issue).
func operationError<Result>(
    _ operation: () throws -> Result, sourceLocation: SourceLocation = #_sourceLocation
) -> XCAPOperationError? {
    do {
        _ = try operation()
        return nil
    } catch let error as XCAPOperationError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

extension XCAPOperationError {
    /// The xcap-error condition element name of a 409, nil for other errors.
    var conditionName: String? {
        if case .conflict(let condition) = self { return condition.elementName }
        return nil
    }

    var condition: XCAPErrorCondition? {
        if case .conflict(let condition) = self { return condition }
        return nil
    }
}
