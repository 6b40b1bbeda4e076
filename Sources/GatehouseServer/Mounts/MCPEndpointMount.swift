import GatehouseCore
import GatehouseMCP
import HTTPTypes
import Hummingbird

/// The MCP endpoint (Streamable HTTP, every protocol revision) at one path: CORS for the
/// origins the policy allows, the Origin check, then authentication when the endpoint is a
/// protected resource, then the rate limits, then any further guards (the hub's provisioning),
/// then the endpoint.
public struct MCPEndpointMount: Sendable {
    public let endpoint: StreamableHTTPEndpoint
    let path: String
    let originPolicy: OriginPolicy
    let protection: ProtectedResourceMount?
    let rateLimits: MCPRateLimits?
    let maxBodyBytes: Int
    let route: MCPRoute

    /// - Parameters:
    ///   - protection: makes the endpoint require tokens; `nil` serves every caller anonymously.
    ///   - rateLimits: limits on each user's, client's and tool's calls; `nil` for none.
    public init(
        endpoint: StreamableHTTPEndpoint, path: String, maxBodyBytes: Int, originPolicy: OriginPolicy,
        protection: ProtectedResourceMount?, rateLimits: MCPRateLimits? = nil
    ) {
        self.endpoint = endpoint
        self.path = path
        self.originPolicy = originPolicy
        self.protection = protection
        self.rateLimits = rateLimits
        self.maxBodyBytes = maxBodyBytes
        self.route = MCPRoute(endpoint: endpoint, maxBodyBytes: maxBodyBytes, challenges: protection?.challenges)
    }

    /// Mounts the endpoint; `guards` run after authentication, before the endpoint.
    public func register<Context: GatehouseContext>(on router: Router<Context>, guards: [any MiddlewareProtocol<Request, Response, Context>] = []) {
        let group = router.group(RouterPath(path))
            .add(middleware: CORSMiddleware(audience: .allowedOrigins(originPolicy)))
            .add(middleware: OriginCheckMiddleware(policy: originPolicy))
        if let protection {
            let authentication: AuthMiddleware<Context> = protection.middleware()
            group.add(middleware: authentication)
        }
        if let rateLimits {
            let limiting: RateLimitMiddleware<Context> = rateLimits.middleware(maxBodyBytes: maxBodyBytes)
            group.add(middleware: limiting)
        }
        for guardMiddleware in guards { group.add(middleware: guardMiddleware) }
        for method in [HTTPRequest.Method.post, .get, .delete, .put, .patch, .options] {
            group.on("", method: method) { request, context in try await route.respond(to: request, context: context) }
        }
    }
}
