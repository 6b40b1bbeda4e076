import GatehouseCore
import Hummingbird

/// Cross-origin access for browser-based MCP clients, answered before authentication.
///
/// Each mount puts it on its own routes, so an application that embeds Gatehouse keeps its own
/// CORS rules for its own routes. Discovery documents and the authorization server's token,
/// registration, revocation and JWKS endpoints are public (they use no cookies; PKCE and client
/// credentials protect them), so any origin may call them, as browser-based MCP clients must.
/// The MCP endpoint is readable from the origins the ``OriginPolicy`` allows. The sign-in form
/// (a cookie-bound POST) and introspection get no CORS at all. Preflight requests carry no
/// credentials, so they are answered here and never reach authentication.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Who may read the responses.
    enum Audience: Sendable {
        /// Any origin (`Access-Control-Allow-Origin: *`): public documents and API endpoints.
        case anyOrigin
        /// The origins `policy` allows, echoed back with `Vary: Origin`.
        case allowedOrigins(OriginPolicy)
    }

    let audience: Audience

    static var allowedHeaders: String {
        "Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Session-Id, Mcp-Method, Mcp-Name, Last-Event-ID"
    }
    static var exposedHeaders: String { "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed: Bool
        switch audience {
        case .anyOrigin: allowed = true
        case .allowedOrigins(let policy): allowed = policy.allows(origin: origin)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else { return Response(status: .forbidden) }
            var response = Response(status: .noContent)
            addHeaders(to: &response, origin: origin)
            response.headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        if allowed { addHeaders(to: &response, origin: origin) }
        return response
    }

    private func addHeaders(to response: inout Response, origin: String) {
        switch audience {
        case .anyOrigin:
            // Bearer tokens are not cookies, so credentials mode is never needed and `*` is safe.
            response.headers[.accessControlAllowOrigin] = "*"
        case .allowedOrigins:
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        }
        response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
    }
}

extension RouterGroup {
    /// Answers `OPTIONS` on `path` in this group, so its CORS middleware sees preflights (a
    /// group's middleware runs only for routes it has).
    @discardableResult
    func preflight(_ path: RouterPath) -> Self {
        on(path, method: .options) { _, _ in Response(status: .noContent) }
        return self
    }
}
