import GatehouseAuth
import GatehouseCore
import Hummingbird

/// Authenticates requests to the MCP endpoint and puts the caller's ``Principal`` in the context.
///
/// MCP authorization (2025-06-18 §2.6, 2025-11-25): every request to the MCP endpoint MUST
/// carry a valid token; invalid or expired tokens MUST get HTTP 401; the 401 MUST carry a
/// `WWW-Authenticate` header with the resource metadata URL (RFC 9728 §5.1).
public struct AuthMiddleware<Context: GatehouseContext>: RouterMiddleware {
    let authenticator: Authenticator
    let challenges: BearerChallenges
    /// Scopes every request needs (`MCP_REQUIRED_SCOPES`), as a set once rather than per request.
    let requiredScopes: Set<String>

    init(authenticator: Authenticator, challenges: BearerChallenges) {
        self.authenticator = authenticator
        self.challenges = challenges
        self.requiredScopes = Set(authenticator.settings.requiredScopes)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let token: String
        switch BearerCredentials(headers: request.headers, query: request.uri.query) {
        case .none:
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            return challenges.response(.unauthorized, for: request)
        case .malformed(let reason):
            Self.refused(reason: "malformed_request", description: reason, request: request, context: context)
            return challenges.response(.badRequest, for: request, error: .invalidRequest, description: reason)
        case .token(let value):
            token = value
        }
        let principal: Principal
        do {
            principal = try await authenticator.verifier.verify(token)
        } catch .invalidToken(let reason) {
            context.logger.debug("refused a token", metadata: ["reason": "\(reason)"])
            Self.refused(reason: reason.code, description: reason.description, request: request, context: context)
            return challenges.response(.unauthorized, for: request, error: .invalidToken, description: reason.description)
        } catch .providerUnavailable(let reason) {
            context.logger.warning("cannot verify tokens", metadata: ["reason": "\(reason)"])
            GatehouseMetrics.authDecision(outcome: "unavailable")
            return JSONResponse.error(.serviceUnavailable, code: "temporarily_unavailable", description: reason, headers: [.retryAfter: "5"])
        }
        guard requiredScopes.isSubset(of: principal.scopes) else {
            GatehouseMetrics.authDecision(outcome: "insufficient_scope")
            AuditLog.record(
                .authenticationRefused,
                [
                    "reason": "insufficient_scope", "sub": .string(principal.subject), "iss": .audit(principal.issuer),
                    "client_id": .audit(principal.clientID), "address": .string(context.remoteIP), "path": .string(request.uri.path),
                ])
            return challenges.response(
                .forbidden, for: request, error: .insufficientScope,
                description: "this server needs the scopes \(requiredScopes.sorted().joined(separator: " "))",
                scopes: requiredScopes.union(principal.scopes).sorted())
        }
        GatehouseMetrics.authDecision(outcome: "accepted")
        var context = context
        context.principal = principal
        context.gatehouse.bearerToken = token
        return try await next(request, context)
    }
}

extension AuthMiddleware {
    /// Counts and audits a refused token; the token itself is never recorded.
    static func refused(reason: String, description: String, request: Request, context: Context) {
        GatehouseMetrics.authDecision(outcome: "refused", reason: reason)
        AuditLog.record(
            .authenticationRefused,
            [
                "reason": .string(reason), "description": .string(description), "address": .string(context.remoteIP),
                "path": .string(request.uri.path),
            ])
    }
}
