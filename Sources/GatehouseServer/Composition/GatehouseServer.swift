import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseGateway
import GatehouseHub
import GatehouseMCP
import GatehouseOAuth
import Hummingbird
import Logging
import ServiceLifecycle

/// Gatehouse assembled from its mounts: the one composition of `gatehouse hub` and
/// `gatehouse idp`, and what an application that embeds Gatehouse mounts on its own router.
///
/// ```swift
/// let gatehouse = try await GatehouseServer.make(configuration: configuration, tools: BuiltinTools.all + [myTool], logger: logger)
/// try await gatehouse.application(logger: logger).runService()      // a server of its own, or:
/// gatehouse.mount(on: router)                                         // inside an existing Hummingbird app
/// ```
public struct GatehouseServer: Sendable {
    public let configuration: GatehouseConfiguration
    /// The embedded authorization server, when it is the provider (or the whole of `gatehouse idp`).
    public let authorizationServer: AuthorizationServerMount?
    /// Discovery and authentication of the MCP endpoint; `nil` with `--provider none`.
    public let protectedResource: ProtectedResourceMount?
    /// The MCP endpoint; `nil` for `gatehouse idp`.
    public let mcp: MCPEndpointMount?
    /// The per-user tools hub; `nil` serves only the fixed tools.
    public let hub: HubMount?
    /// Hub users' own remote MCP servers (`GATEHOUSE_CONNECTIONS`); `nil` when not offered.
    public let connections: ConnectionsMount?
    /// The `/hub` page, with the hub and the embedded authorization server.
    public let hubPage: HubPageMount?
    /// The gateway to upstream MCP servers (`gatehouse gateway`); then the endpoint serves it.
    public let gateway: GatewayMount?
    /// The store the parts share, kept open while the server runs.
    public let stores: Stores?

    /// Assembles the parts given. With a `hub`, its management tools join `tools` and it becomes
    /// the endpoint's source of per-user tools, and so do `connections`; with an `authenticator`,
    /// the endpoint is a protected resource; `stores` are followed (other instances' changes) and
    /// closed with it.
    public init(
        configuration: GatehouseConfiguration, tools: [MCPTool] = BuiltinTools.all, serverInfo: MCPServerInfo = .gatehouse,
        authenticator: Authenticator? = nil, authorizationServer: AuthorizationServerMount? = nil, hub: HubMount? = nil,
        connections: ConnectionsMount? = nil, hubPage: HubPageMount? = nil, stores: Stores? = nil
    ) {
        let registry = ToolRegistry(tools + (hub?.managementTools ?? []) + (connections?.managementTools ?? []))
        let sources: [any ToolSource] = [hub?.hub as (any ToolSource)?, connections?.toolSource].compactMap { $0 }
        let protection = authenticator.map {
            ProtectedResourceMount(
                authenticator: $0, configuration: configuration,
                scopesSupported: Self.scopesSupported(configuration: configuration, tools: registry.tools))
        }
        let endpoint = StreamableHTTPEndpoint(
            service: MCPMethodHandler(
                serverInfo: serverInfo, tools: registry, toolSource: sources.count > 1 ? ToolSources(sources) : sources.first),
            sessions: SessionStore(
                idleTimeout: configuration.sessionIdleTimeout, capacity: configuration.maxSessions, shared: stores?.sharedSessions))
        self.init(
            configuration: configuration, authorizationServer: authorizationServer, protectedResource: protection,
            mcp: MCPEndpointMount(
                endpoint: endpoint, path: configuration.mcpPath, maxBodyBytes: configuration.maxBodyBytes,
                originPolicy: OriginPolicy(configuration: configuration), protection: protection,
                rateLimits: .configured(configuration, stores: stores)),
            hub: hub, connections: connections, hubPage: hubPage, gateway: nil, stores: stores)
    }

    init(
        configuration: GatehouseConfiguration, authorizationServer: AuthorizationServerMount?,
        protectedResource: ProtectedResourceMount?, mcp: MCPEndpointMount?, hub: HubMount?, connections: ConnectionsMount? = nil,
        hubPage: HubPageMount? = nil, gateway: GatewayMount?, stores: Stores?
    ) {
        self.configuration = configuration
        self.authorizationServer = authorizationServer
        self.protectedResource = protectedResource
        self.mcp = mcp
        self.hub = hub
        self.connections = connections
        self.hubPage = hubPage
        self.gateway = gateway
        self.stores = stores
    }

    /// The hub (`gatehouse hub`): opens the store, builds the per-user tools hub, and protects
    /// the endpoint with the configured provider. Unless the provider is lazy, its metadata is
    /// fetched first so a wrong domain or issuer stops start-up with the fix; the embedded
    /// provider prepares its signing key.
    ///
    /// - Parameter withHub: false serves only `tools` and opens a store only for the embedded
    ///   authorization server.
    public static func make(
        configuration: GatehouseConfiguration, tools: [MCPTool] = BuiltinTools.all, withHub: Bool = true, logger: Logger
    ) async throws(StartupProblem) -> GatehouseServer {
        let embedded = configuration.auth.provider == .embedded
        let stores = withHub || embedded ? try await StoreBackend.open(configuration, logger: logger) : nil
        let connectionServices = try withHub ? stores.flatMap { stores throws(StartupProblem) in
            try ConnectionServices(configuration: configuration, store: stores.connections)
        } : nil
        let hub = withHub ? stores.map { HubMount(configuration: configuration, store: $0.hub, accounts: connectionServices?.accounts) } : nil
        let scopes = scopesSupported(configuration: configuration, tools: tools + (hub?.managementTools ?? []))
        let (authorizationServer, authenticator) = try await authentication(
            configuration: configuration, stores: stores, scopesSupported: scopes, logger: logger)
        var connections: ConnectionsMount?
        if let connectionServices {
            guard let hub, let authorizationServer else {
                throw StartupProblem(
                    "GATEHOUSE_CONNECTIONS and GATEHOUSE_ACCOUNTS need the hub with the embedded authorization server (--provider embedded), whose sign-in tells the connect page who is in the browser")
            }
            connections = ConnectionsMount(services: connectionServices, hub: hub.hub, authorizationServer: authorizationServer, logger: logger)
        }
        let hubPage = hub.flatMap { hub in
            authorizationServer.map {
                HubPageMount(configuration: configuration, hub: hub, connections: connections, authorizationServer: $0)
            }
        }
        return GatehouseServer(
            configuration: configuration, tools: tools, authenticator: authenticator, authorizationServer: authorizationServer,
            hub: hub, connections: connections, hubPage: hubPage, stores: stores)
    }

    /// The authorization server alone (`gatehouse idp`), for MCP servers elsewhere; the
    /// configuration must name at least one resource (`--resource`).
    public static func identityProvider(configuration: GatehouseConfiguration, logger: Logger) async throws(StartupProblem) -> GatehouseServer {
        guard !configuration.authorizationServer.extraResources.isEmpty else {
            throw StartupProblem(
                "name the MCP servers tokens are for with --resource URL (or GATEHOUSE_IDP_RESOURCES), e.g. --resource https://mcp.example.com/mcp")
        }
        let stores = try await StoreBackend.open(configuration, logger: logger)
        let authorizationServer = try await AuthorizationServerMount.make(
            configuration: configuration, store: stores.authorization,
            scopesSupported: configuration.authorizationServer.scopes, servesOwnResource: false, rateCounter: stores.rateCounter,
            signInFailures: stores.signInFailures, logger: logger)
        return GatehouseServer(
            configuration: configuration, authorizationServer: authorizationServer, protectedResource: nil, mcp: nil, hub: nil,
            gateway: nil, stores: stores)
    }

    /// The embedded authorization server (when it is the provider, on `stores`) and the
    /// authenticator of the MCP endpoint: the embedded server's own, or the configured provider's
    /// (whose metadata is checked now unless the provider is lazy); `nil` with `--provider none`.
    static func authentication(
        configuration: GatehouseConfiguration, stores: Stores?, scopesSupported scopes: [String], logger: Logger
    ) async throws(StartupProblem) -> (AuthorizationServerMount?, Authenticator?) {
        if configuration.auth.provider == .embedded, let stores {
            let authorizationServer = try await AuthorizationServerMount.make(
                configuration: configuration, store: stores.authorization, scopesSupported: scopes, rateCounter: stores.rateCounter,
                signInFailures: stores.signInFailures, logger: logger)
            return (authorizationServer, authorizationServer.authenticator(configuration: configuration))
        }
        return (nil, try await Authenticator.make(settings: configuration.auth, resourceURL: configuration.resourceURL, logger: logger))
    }

    /// The authenticator a server on `configuration` would check tokens with (the embedded
    /// authorization server's, on its store, or the configured provider's); `nil` with
    /// `--provider none`. `gatehouse doctor token` asks it, so its verdict is the server's.
    public static func tokenAuthenticator(configuration: GatehouseConfiguration, logger: Logger) async throws(StartupProblem) -> Authenticator? {
        let stores = configuration.auth.provider == .embedded ? try await StoreBackend.open(configuration, logger: logger) : nil
        return try await authentication(
            configuration: configuration, stores: stores, scopesSupported: configuration.auth.requiredScopes, logger: logger
        ).1
    }

    /// Scopes advertised in `scopes_supported`: the required ones and every scope a tool needs.
    static func scopesSupported(configuration: GatehouseConfiguration, tools: [MCPTool]) -> [String] {
        Set(configuration.auth.requiredScopes).union(tools.flatMap(\.requiredScopes)).sorted()
    }

    /// The tools every caller has (subject to their scopes).
    public var tools: ToolRegistry { (mcp?.endpoint.service as? MCPMethodHandler)?.tools ?? ToolRegistry() }

    /// The one composition: mounts every part on `router`. An application that embeds Gatehouse
    /// calls this on its own router; its own routes and middleware stay as they are.
    public func mount<Context: GatehouseContext>(on router: Router<Context>) {
        authorizationServer?.register(on: router)
        gateway?.register(on: router)
        connections?.register(on: router)
        hubPage?.register(on: router)
        protectedResource?.register(on: router)
        let guards: [any MiddlewareProtocol<Request, Response, Context>] = hub.map { [$0.middleware()] } ?? []
        mcp?.register(on: router, guards: guards)
    }

    /// The router of Gatehouse's own servers: request metrics and logging, `/healthz`, and every part.
    public func router() -> Router<GatehouseRequestContext> {
        let router = Router(context: GatehouseRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware())
        router.add(middleware: RequestLogMiddleware())
        HealthRoute.register(on: router, gateway: gateway?.service)
        mount(on: router)
        return router
    }

    /// Background work the parts need while they run.
    public var services: [any Service] {
        (authorizationServer?.services ?? []) + (gateway?.services ?? [])
            + (stores.map { [StoreLifecycle(stores: $0, hub: hub?.hub, sessions: mcp?.endpoint.sessions)] } ?? [])
    }

    /// The runnable application on the guarded listener (deadlines, the connection cap), with
    /// the metrics listener when `--metrics-port` is set (after ``MetricsListener/bootstrap()``);
    /// `onRunning` receives the bound port once it listens.
    public func application(
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var services = self.services
        if let metricsPort = configuration.operations.metricsPort {
            let sessions = mcp?.endpoint.sessions
            services.append(
                MetricsListener.application(
                    host: configuration.operations.metricsHost, port: metricsPort,
                    sample: { GatehouseMetrics.activeSessions(sessions?.count ?? 0) }, logger: logger))
        }
        return Application(
            router: router(),
            server: GuardedHTTPServer.builder(configuration.connections, tls: configuration.tls, logger: logger),
            configuration: GuardedHTTPServer.configuration(
                host: configuration.host, port: configuration.port, settings: configuration.connections),
            services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

extension MCPServerInfo {
    /// How a Gatehouse hub introduces itself to MCP clients.
    public static let gatehouse = MCPServerInfo(
        name: "gatehouse", version: Gatehouse.version, title: "Gatehouse",
        instructions: "Gatehouse hub. Call tools/list to see the tools available to you.")
}
