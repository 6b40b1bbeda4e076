import GatehouseAuth
import GatehouseCore
import GatehouseGateway
import GatehouseMCP
import Logging

extension GatehouseServer {
    /// The gateway (`gatehouse gateway`): the configured provider protects an endpoint that serves
    /// `upstreams` joined. A store is opened only when needed: for the embedded authorization
    /// server, or for the key that signs upstream tokens.
    public static func gateway(
        configuration: GatehouseConfiguration, upstreams: [UpstreamSpec], logger: Logger
    ) async throws(StartupProblem) -> GatehouseServer {
        let needsStore = configuration.auth.provider == .embedded || GatewayMount.mintsTokens(upstreams)
        let stores = needsStore ? try await StoreBackend.open(configuration, logger: logger) : nil
        // Every scope a rule names is advertised, so clients can ask for it.
        let ruleScopes = upstreams.flatMap { [$0.access] + $0.toolAccess.values }.flatMap(\.requiredScopes)
        let scopes = Set(configuration.auth.requiredScopes).union(ruleScopes).sorted()
        let (authorizationServer, authenticator) = try await authentication(
            configuration: configuration, stores: stores, scopesSupported: scopes, logger: logger)
        let gateway = try await GatewayMount.make(
            configuration: configuration, upstreams: upstreams, stores: stores, authorizationServer: authorizationServer, logger: logger)
        let protection = authenticator.map {
            ProtectedResourceMount(authenticator: $0, configuration: configuration, scopesSupported: scopes)
        }
        let endpoint = StreamableHTTPEndpoint(
            service: gateway.service,
            sessions: SessionStore(
                idleTimeout: configuration.sessionIdleTimeout, capacity: configuration.maxSessions, shared: stores?.sharedSessions))
        return GatehouseServer(
            configuration: configuration, authorizationServer: authorizationServer, protectedResource: protection,
            mcp: MCPEndpointMount(
                endpoint: endpoint, path: configuration.mcpPath, maxBodyBytes: configuration.maxBodyBytes,
                originPolicy: OriginPolicy(configuration: configuration), protection: protection,
                rateLimits: .configured(configuration, stores: stores)),
            hub: nil, gateway: gateway, stores: stores)
    }
}

extension MCPServerInfo {
    /// How a Gatehouse gateway introduces itself to MCP clients.
    public static func gateway(upstreams: [String]) -> MCPServerInfo {
        MCPServerInfo(
            name: "gatehouse-gateway", version: Gatehouse.version, title: "Gatehouse gateway",
            instructions: "Gatehouse gateway to the MCP servers \(upstreams.joined(separator: ", ")). "
                + "Their tools and prompts are named upstream_name; their resource URIs start gatehouse+upstream:.")
    }
}
