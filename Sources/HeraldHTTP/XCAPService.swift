import Foundation
import HTTPTypes
import HeraldEngine
import HeraldStore
import Hummingbird
import PresenceDocuments
import SIPCore
import XCAP

/// The XCAP server (RFC 4825) on Herald's HTTP port: documents live in the store, every change
/// is a compare-and-swap on the entity tag that was read (atomic, no lost update), and changes
/// that matter to SIP reach the engine at once (`SIPEngine.xcapDocumentChanged`).
///
/// Access (RFC 4825 §5.7): a user reads and writes only her own `users/` tree; `global/`
/// documents are read-only.
struct XCAPService: Sendable {
    let store: any HeraldStore
    let engine: SIPEngine
    let authentication: HTTPAuthentication
    let xcapRoot: String
    let registry = XCAPApplicationUsageRegistry.standard()
    let limits = XMLLimits(maxBytes: 1024 * 1024, maxDepth: 32, maxElements: 20_000)
    /// rls-services writes, one at a time: a service URI's uniqueness check and its commit must
    /// not interleave with another user's claiming the same URI (RFC 4826 §4.4.5).
    let serviceURIWrites = SerialAsyncQueue()
    /// The largest request body accepted (pres-content icons included).
    static let maxBodyBytes = 1024 * 1024
    /// Per-user quota: documents and bytes in her home directory.
    static let maxDocumentsPerUser = 100
    static let maxBytesPerUser = 8 * 1024 * 1024

    func register(on router: Router<HeraldRequestContext>) {
        var prefix = self.xcapRoot
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let path = RouterPath(prefix.isEmpty ? "**" : prefix + "/**")
        router.get(path) { request, context in try await self.respond(request, context) }
        router.put(path) { request, context in try await self.respond(request, context) }
        router.delete(path) { request, context in try await self.respond(request, context) }
    }

    /// The absolute URI of the server as the client addressed it, for no-parent ancestors.
    private func origin(_ request: Request) -> String {
        "http://" + (request.head.authority ?? "localhost")
    }

    private func respond(_ request: Request, _ context: HeraldRequestContext) async throws -> Response {
        do {
            return try await self.handle(request, context)
        } catch let failure as HTTPFailure {
            return failure.response
        } catch let error as XCAPOperationError {
            return Self.response(for: error)
        }
    }

    static func response(for error: XCAPOperationError) -> Response {
        var headers = HTTPFields()
        if let allow = error.allowHeader { headers[.allow] = allow }
        if let document = error.errorDocument {
            headers[.contentType] = XCAPMediaType.error
            return Response(status: .init(code: error.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .init(code: error.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: error.reason + "\n")))
    }

    private func handle(_ request: Request, _ context: HeraldRequestContext) async throws -> Response {
        let uri: XCAPURI
        do {
            uri = try XCAPURI.parse(path: request.uri.path, query: request.uri.query, xcapRoot: self.xcapRoot)
        } catch {
            throw HTTPFailure(status: .init(code: error.httpStatus), text: error.reason + "\n")
        }
        let usage = try self.registry.usage(for: uri)
        let owner = uri.xui.map(SIPEngine.xcapOwner) ?? ""
        try await self.authorize(request, context, uri: uri, owner: owner)

        switch usage.auid {
        case XCAPCapabilitiesUsage.auid:
            guard request.method == .get else { throw XCAPOperationError.methodNotAllowed(allowed: ["GET"], reason: "xcap-caps is read-only") }
            return try self.serveGenerated(self.registry.capabilitiesDocument(), usage: usage, uri: uri, request: request)
        case XCAPDirectoryUsage.auid:
            guard request.method == .get else {
                throw XCAPOperationError.methodNotAllowed(allowed: ["GET"], reason: "the directory is maintained by the server")
            }
            guard uri.documentName == XCAPDirectoryUsage.documentName else { throw XCAPOperationError.notFound(reason: "no document '\(uri.documentName)'") }
            return try self.serveGenerated(try await self.directory(owner: owner, xui: uri.xui ?? ""), usage: usage, uri: uri, request: request)
        default:
            break
        }
        let current = try await self.store.xcapDocument(auid: uri.auid, owner: owner, path: uri.documentName)
        switch request.method {
        case .get:
            return try self.get(current, uri: uri, usage: usage, request: request)
        case .put:
            let body = Array(try await request.body.collect(upTo: Self.maxBodyBytes).readableBytesView)
            return try await self.put(body, current: current, uri: uri, owner: owner, usage: usage, request: request)
        case .delete:
            return try await self.delete(current, uri: uri, owner: owner, usage: usage, request: request)
        default:
            throw XCAPOperationError.methodNotAllowed(allowed: ["GET", "PUT", "DELETE"], reason: "XCAP resources take GET, PUT and DELETE")
        }
    }

    /// RFC 4825 §5.7: users reach their own documents only; the global tree is read-only.
    private func authorize(_ request: Request, _ context: HeraldRequestContext, uri: XCAPURI, owner: String) async throws {
        let domain = uri.xui.flatMap { xui in xui.split(separator: "@").last.map { String($0.split(separator: ";").first ?? "") } }?.lowercased()
        let realm = domain.flatMap { self.authentication.domains.contains($0) ? $0 : nil } ?? self.authentication.domains.first ?? "localhost"
        let resourceOwner = uri.xui.flatMap { AuthenticatedUser.parse($0, defaultDomain: nil) }
        switch try await self.authentication.require(request, context: context, realm: realm, resourceOwner: resourceOwner) {
        case .failure(let failure):
            throw failure
        case .success(let user):
            if uri.xui == nil {
                guard request.method == .get else { throw HTTPFailure(status: .forbidden, text: "global documents are read-only\n") }
                return
            }
            guard SIPEngine.xcapOwner(user.addressOfRecord) == owner else {
                throw HTTPFailure(status: .forbidden, text: "\(user.addressOfRecord) may not access the documents of \(uri.xui ?? "")\n")
            }
        }
    }

    // MARK: GET

    private func get(_ current: XCAPDocumentRecord?, uri: XCAPURI, usage: any XCAPApplicationUsage, request: Request) throws -> Response {
        guard let current else { throw uri.missingDocumentError(origin: self.origin(request), isPut: false) }
        guard let selector = try uri.parsedNodeSelector(for: usage) else {
            if Self.ifNoneMatch(request, etag: current.etag) { return Response(status: .notModified, headers: Self.etagHeader(current.etag)) }
            var headers = Self.etagHeader(current.etag)
            headers[.contentType] = current.contentType
            // Stored bodies are served as data, never as something a browser would run.
            headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            headers[HTTPField.Name("Content-Security-Policy")!] = "sandbox; default-src 'none'"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: current.body)))
        }
        let document = try self.parse(current)
        let node = try XCAPNodeOperations.get(selector, in: document)
        var headers = Self.etagHeader(current.etag)
        headers[.contentType] = node.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: node.body)))
    }

    private func serveGenerated(_ document: XMLElement, usage: any XCAPApplicationUsage, uri: XCAPURI, request: Request) throws -> Response {
        let body = XMLSerializer.serializedBytes(document)
        let etag = Self.contentTag(body)
        if let selector = try uri.parsedNodeSelector(for: usage) {
            let node = try XCAPNodeOperations.get(selector, in: document)
            var headers = Self.etagHeader(etag)
            headers[.contentType] = node.contentType
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: node.body)))
        }
        var headers = Self.etagHeader(etag)
        headers[.contentType] = usage.mimeType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The OMA directory: a folder per writable usage, with each document's URI and ETag.
    private func directory(owner: String, xui: String) async throws -> XMLElement {
        let documents = try await self.store.xcapDocuments(owner: owner)
        let folders = self.registry.usages.filter { !$0.isReadOnly && $0.supports(.users(xui: xui)) }.map { usage in
            XCAPDirectoryUsage.Folder(
                auid: usage.auid,
                entries: documents.filter { $0.auid == usage.auid }.map { record in
                    let path = (try? XCAPURI.parse(path: "\(self.rootPrefix)/\(record.auid)/users/\(Self.escapeSegment(xui))/\(record.path)", xcapRoot: self.xcapRoot))?
                        .documentURIPath ?? "\(self.rootPrefix)/\(record.auid)/users/\(Self.escapeSegment(xui))/\(record.path)"
                    return XCAPDirectoryUsage.Entry(uri: path, etag: record.etag, size: record.body.count)
                })
        }
        return XCAPDirectoryUsage.document(folders: folders)
    }

    private var rootPrefix: String {
        var root = self.xcapRoot
        while root.hasSuffix("/") { root.removeLast() }
        return root
    }

    // MARK: PUT

    private func put(
        _ body: [UInt8], current: XCAPDocumentRecord?, uri: XCAPURI, owner: String, usage: any XCAPApplicationUsage, request: Request
    ) async throws -> Response {
        guard uri.xui != nil else { throw HTTPFailure(status: .forbidden, text: "global documents are read-only\n") }
        try Self.checkPreconditions(request, current: current)
        let contentType = request.headers[.contentType]
        let newBody: [UInt8]
        let storedType: String
        let element: XMLElement?
        let status: HTTPResponse.Status
        if let selector = try uri.parsedNodeSelector(for: usage) {
            guard let current else { throw uri.missingDocumentError(origin: self.origin(request), isPut: true) }
            let result = try XCAPNodeOperations.put(
                body, contentType: contentType, at: selector, in: try self.parse(current),
                documentURI: uri.documentURI(origin: self.origin(request)), usage: usage,
                options: XCAPPutOptions(limits: self.limits, acceptsMismatchedAttributeTest: true))
            element = result.document
            newBody = XMLSerializer.serializedBytes(result.document)
            guard newBody.count <= self.limits.maxBytes else {
                throw XCAPOperationError.payloadTooLarge(reason: "the document would exceed \(self.limits.maxBytes) bytes")
            }
            storedType = current.contentType
            status = .init(code: result.outcome.status)
        } else {
            switch try XCAPDocumentOperations.acceptPut(body, contentType: contentType, usage: usage, limits: self.limits) {
            case .xml(let document):
                element = document
                newBody = body
                storedType = usage.mimeType
            case .binary(let bytes, let type):
                element = nil
                newBody = bytes
                storedType = type
            }
            status = current == nil ? .created : .ok
        }
        let etag = Self.newTag()
        let record = XCAPDocumentRecord(
            auid: uri.auid, owner: owner, path: uri.documentName, contentType: storedType, body: newBody, etag: etag,
            modifiedAt: Int64(Date().timeIntervalSince1970))
        if let element, usage.auid == RLSServicesUsage.auid {
            try await self.serviceURIWrites.run {
                try await self.checkServiceURIsUnique(element, owner: owner)
                try await self.checkQuota(owner: owner, replacing: current, newSize: newBody.count)
                try await self.commit(uri: uri, owner: owner, expected: current?.etag, record: record)
            }
        } else {
            try await self.checkQuota(owner: owner, replacing: current, newSize: newBody.count)
            try await self.commit(uri: uri, owner: owner, expected: current?.etag, record: record)
        }
        try? await self.engine.xcapDocumentChanged(auid: uri.auid, owner: owner, path: uri.documentName).get()
        return Response(status: status, headers: Self.etagHeader(etag))
    }

    /// A user's home directory is bounded (documents and bytes), so no user can grow the store
    /// and the engine's policy cache without limit.
    private func checkQuota(owner: String, replacing current: XCAPDocumentRecord?, newSize: Int) async throws {
        let documents = try await self.store.xcapDocuments(owner: owner)
        let count = documents.count + (current == nil ? 1 : 0)
        let bytes = documents.reduce(0) { $0 + $1.body.count } - (current?.body.count ?? 0) + newSize
        guard count <= Self.maxDocumentsPerUser, bytes <= Self.maxBytesPerUser else {
            throw XCAPOperationError.conflict(.constraintFailure(
                phrase: "quota: at most \(Self.maxDocumentsPerUser) documents and \(Self.maxBytesPerUser / 1024 / 1024) MiB per user"))
        }
    }

    /// RFC 4826 §4.4.5: a service URI names one service on the whole server, compared as the
    /// SIP side matches Request-URIs (`SIPEngine.serviceKey`: host case and transport
    /// parameters aside). A user's service cannot take another user's address either: not
    /// with parameters (OMA's `;pres-list=` lists live at their owner's own address) and not
    /// plain (it would answer SUBSCRIBEs meant for that user).
    private func checkServiceURIsUnique(_ document: XMLElement, owner: String) async throws {
        var taken = Set<String>()
        for record in try await self.store.xcapDocuments(auid: RLSServicesUsage.auid) where record.owner != owner {
            guard let other = try? XMLDocumentParser.parse(record.body, limits: self.limits) else { continue }
            taken.formUnion(RLSServicesUsage.serviceURIs(in: other).map(Self.serviceKey))
        }
        for (index, child) in document.children.enumerated() {
            guard case .element(let service) = child, service.name == XMLName(RLSServicesUsage.namespace, "service"),
                let serviceURI = service.attribute("uri")
            else { continue }
            if taken.contains(Self.serviceKey(serviceURI)) {
                throw RLSServicesUsage.uniquenessFailure(serviceURIAt: [index], in: document, alternatives: [])
            }
            guard let uri = try? SIPURI(parsing: serviceURI), uri.isSIP, uri.addressOfRecord != owner else { continue }
            if !SIPEngine.serviceParameters(of: uri).isEmpty {
                throw XCAPOperationError.conflict(.constraintFailure(
                    phrase: "service URI '\(serviceURI)' has parameters but is not your own address"))
            }
            if try await self.store.user(username: uri.unescapedUser ?? "", domain: uri.hostKey) != nil {
                throw RLSServicesUsage.uniquenessFailure(serviceURIAt: [index], in: document, alternatives: [])
            }
        }
    }

    private static func serviceKey(_ text: String) -> String {
        guard let uri = try? SIPURI(parsing: text), uri.isSIP else { return text }
        return SIPEngine.serviceKey(uri)
    }

    // MARK: DELETE

    private func delete(
        _ current: XCAPDocumentRecord?, uri: XCAPURI, owner: String, usage: any XCAPApplicationUsage, request: Request
    ) async throws -> Response {
        guard uri.xui != nil else { throw HTTPFailure(status: .forbidden, text: "global documents are read-only\n") }
        guard let current else { throw uri.missingDocumentError(origin: self.origin(request), isPut: false) }
        try Self.checkPreconditions(request, current: current)
        guard let selector = try uri.parsedNodeSelector(for: usage) else {
            try XCAPDocumentOperations.checkDelete(usage: usage)
            try await self.commit(uri: uri, owner: owner, expected: current.etag, record: nil)
            try? await self.engine.xcapDocumentChanged(auid: uri.auid, owner: owner, path: uri.documentName).get()
            return Response(status: .ok)
        }
        let document = try XCAPNodeOperations.delete(at: selector, in: try self.parse(current), usage: usage)
        var record = current
        record.body = XMLSerializer.serializedBytes(document)
        record.etag = Self.newTag()
        record.modifiedAt = Int64(Date().timeIntervalSince1970)
        try await self.commit(uri: uri, owner: owner, expected: current.etag, record: record)
        try? await self.engine.xcapDocumentChanged(auid: uri.auid, owner: owner, path: uri.documentName).get()
        return Response(status: .ok, headers: Self.etagHeader(record.etag))
    }

    // MARK: Helpers

    /// Writes over the tag that was read; a concurrent change in between is a 409 the client
    /// retries (its If-Match would have failed a moment later anyway).
    private func commit(uri: XCAPURI, owner: String, expected: String?, record: XCAPDocumentRecord?) async throws {
        do {
            try await self.store.replaceXCAPDocument(auid: uri.auid, owner: owner, path: uri.documentName, expectedETag: expected, with: record)
        } catch XCAPWriteConflict.documentChanged {
            throw HTTPFailure(status: .conflict, text: "the document changed while this request was processed; retry\n")
        }
    }

    private func parse(_ record: XCAPDocumentRecord) throws -> XMLElement {
        do {
            return try XMLDocumentParser.parse(record.body, limits: self.limits)
        } catch {
            throw XCAPOperationError.notFound(reason: "document '\(record.path)' is not XML, so it has no nodes")
        }
    }

    /// If-Match and If-None-Match on the document's entity tag (RFC 4825 §7.11, RFC 9110 §13).
    static func checkPreconditions(_ request: Request, current: XCAPDocumentRecord?) throws {
        if let ifMatch = request.headers[.ifMatch] {
            let tags = Self.entityTags(ifMatch)
            guard let current, tags.contains("*") || tags.contains(current.etag) else {
                throw HTTPFailure(status: .preconditionFailed, text: "If-Match does not match the document's entity tag\n")
            }
        }
        if let ifNoneMatch = request.headers[.ifNoneMatch], let current {
            let tags = Self.entityTags(ifNoneMatch)
            if tags.contains("*") || tags.contains(current.etag) {
                throw HTTPFailure(status: .preconditionFailed, text: "If-None-Match matches the document's entity tag\n")
            }
        }
    }

    static func ifNoneMatch(_ request: Request, etag: String) -> Bool {
        guard let value = request.headers[.ifNoneMatch] else { return false }
        let tags = Self.entityTags(value)
        return tags.contains("*") || tags.contains(etag)
    }

    static func entityTags(_ header: String) -> Set<String> {
        Set(header.split(separator: ",").map { part in
            var tag = part.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        })
    }

    static func etagHeader(_ etag: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.eTag] = "\"\(etag)\""
        return headers
    }

    /// A fresh strong entity tag for a new version.
    static func newTag() -> String {
        String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(20))
    }

    /// The tag of a generated document: a hash of its bytes, stable while it does not change.
    static func contentTag(_ body: [UInt8]) -> String {
        String(FNV1a.hash(body), radix: 16)
    }

    static func escapeSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~+")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
