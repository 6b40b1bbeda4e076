import GatehouseCore
import GatehouseMCP
import HTTPTypes
import Hummingbird

/// The MCP endpoint (Streamable HTTP, every protocol revision) at one path: CORS for the
/// origins the policy allows, the Origin check, then authentication when the endpoint is a
/// protected resource, then any further guards (the hub's provisioning), then the endpoint.
public struct MCPEndpointMount: Sendable {
    public let endpoint: StreamableHTTPEndpoint
    let path: String
    let originPolicy: OriginPolicy
    let protection: ProtectedResourceMount?
    let route: MCPRoute

    /// - Parameters:
    ///   - protection: makes the endpoint require tokens; `nil` serves every caller anonymously.
    public init(
        endpoint: StreamableHTTPEndpoint, path: String, maxBodyBytes: Int, originPolicy: OriginPolicy,
        protection: ProtectedResourceMount?
    ) {
        self.endpoint = endpoint
        self.path = path
        self.originPolicy = originPolicy
        self.protection = protection
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
        for guardMiddleware in guards { group.add(middleware: guardMiddleware) }
        for method in [HTTPRequest.Method.post, .get, .delete, .put, .patch, .options] {
            group.on("", method: method) { request, context in try await route.respond(to: request, context: context) }
        }
    }
}
