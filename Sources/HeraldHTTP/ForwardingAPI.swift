import Foundation
import HeraldStore
import Hummingbird
import SIPCore

/// `/api/users/{user@domain}/forwarding`: a user reads and changes her own call forwarding
/// (the same rules as `herald user forward`). JSON body:
/// `{"unconditional": "sip:…", "busy": …, "noAnswer": …, "noAnswerSeconds": 20, "unreachable": …}`.
enum ForwardingAPI {
    static func register(on router: Router<HeraldRequestContext>, store: any HeraldStore, authentication: HTTPAuthentication) {
        let path = RouterPath("api/users/:user/forwarding")
        router.get(path) { request, context in
            try await Self.handle(request, context, store, authentication) { user in
                let rules = try await store.forwardingRules(username: user.username, domain: user.domain) ?? ForwardingRules()
                return try Self.json(rules, status: .ok)
            }
        }
        router.put(path) { request, context in
            try await Self.handle(request, context, store, authentication) { user in
                let body = try await request.body.collect(upTo: 16 * 1024)
                let rules: ForwardingRules
                do {
                    rules = try JSONDecoder().decode(ForwardingRules.self, from: Data(buffer: body))
                } catch {
                    return HTTPFailure(status: .badRequest, text: "malformed forwarding rules: expected JSON with unconditional, busy, noAnswer, noAnswerSeconds, unreachable\n").response
                }
                if let problem = Self.problem(in: rules) { return HTTPFailure(status: .badRequest, text: problem + "\n").response }
                try await store.setForwardingRules(rules, username: user.username, domain: user.domain)
                return try Self.json(rules, status: .ok)
            }
        }
        router.delete(path) { request, context in
            try await Self.handle(request, context, store, authentication) { user in
                try await store.setForwardingRules(nil, username: user.username, domain: user.domain)
                return Response(status: .noContent)
            }
        }
    }

    /// Authenticates, checks that the user named in the path is the one authenticated (403
    /// otherwise) and exists (404), then runs `body`.
    private static func handle(
        _ request: Request, _ context: HeraldRequestContext, _ store: any HeraldStore, _ authentication: HTTPAuthentication,
        _ body: (AuthenticatedUser) async throws -> Response
    ) async throws -> Response {
        let text = try context.parameters.require("user")
        guard let owner = AuthenticatedUser.parse(text.removingPercentEncoding ?? text, defaultDomain: nil),
            authentication.domains.contains(owner.domain)
        else { return HTTPFailure(status: .notFound, text: "not a user of a served domain\n").response }
        switch try await authentication.require(request, context: context, realm: owner.domain, resourceOwner: owner) {
        case .failure(let failure):
            return failure.response
        case .success(let user) where user != owner:
            return HTTPFailure(status: .forbidden, text: "users may only change their own forwarding\n").response
        case .success:
            guard try await store.user(username: owner.username, domain: owner.domain) != nil else {
                return HTTPFailure(status: .notFound, text: "no such user\n").response
            }
            return try await body(owner)
        }
    }

    /// Targets must be SIP URIs naming a user; the no-answer time 1 to 600 seconds.
    static func problem(in rules: ForwardingRules) -> String? {
        for (name, target) in [("unconditional", rules.unconditional), ("busy", rules.busy), ("noAnswer", rules.noAnswer), ("unreachable", rules.unreachable)] {
            guard let target else { continue }
            guard let uri = try? SIPURI(parsing: target), uri.isSIP, uri.user != nil else { return "\(name): '\(target)' is not a SIP URI naming a user" }
        }
        guard (1...600).contains(rules.noAnswerSeconds) else { return "noAnswerSeconds must be 1 to 600" }
        return nil
    }

    static func json(_ rules: ForwardingRules, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(rules)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
