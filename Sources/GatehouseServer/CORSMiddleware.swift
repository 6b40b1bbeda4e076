import GatehouseCore
import Hummingbird

/// Cross-origin access for browser-based MCP clients, answered before authentication.
///
/// Discovery documents (`/.well-known/…`) and the authorization server's token, registration,
/// revocation and JWKS endpoints are public (they use no cookies; PKCE and client credentials
/// protect them), so any origin may call them, as browser-based MCP clients must. The MCP
/// endpoint is readable from the origins the ``OriginPolicy`` allows; the sign-in form (a
/// cookie-bound POST) and introspection get no CORS headers. Preflight requests carry no
/// credentials, so they are answered here and never reach authentication.
/// The authorization server's endpoints any origin may call (a generic type cannot hold it
/// as a stored static, and a computed one would build the set on every request).
private let corsPublicAPIPaths: Set<String> = ["/token", "/register", "/revoke", "/jwks"]

struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy

    static var allowedHeaders: String {
        "Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Session-Id, Mcp-Method, Mcp-Name, Last-Event-ID"
    }
    static var exposedHeaders: String { "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let isDiscovery = request.uri.path.hasPrefix("/.well-known/") || corsPublicAPIPaths.contains(request.uri.path)
        let allowed = isDiscovery || policy.allows(origin: origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else { return Response(status: .forbidden) }
            var response = Response(status: .noContent)
            addHeaders(to: &response, origin: origin, isDiscovery: isDiscovery)
            response.headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        if allowed { addHeaders(to: &response, origin: origin, isDiscovery: isDiscovery) }
        return response
    }

    private func addHeaders(to response: inout Response, origin: String, isDiscovery: Bool) {
        // Bearer tokens are not cookies, so credentials mode is never needed and `*` is safe for public documents.
        response.headers[.accessControlAllowOrigin] = isDiscovery ? "*" : origin
        response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        if !isDiscovery { response.headers[.vary] = "Origin" }
    }
}
