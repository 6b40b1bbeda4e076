import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseOAuth
import GatehouseSQLite
import Hummingbird
import Logging
import NIOCore

/// Assembles a Gatehouse HTTP application from a configuration, a set of tools and,
/// when a provider is configured, an ``Authenticator``.
///
/// ```swift
/// let server = try await GatehouseServer.make(configuration: config, tools: BuiltinTools.all + [myTool], logger: logger)
/// try await server.application(logger: logger).runService()
/// ```
public struct GatehouseServer: Sendable {
    public let configuration: GatehouseConfiguration
    public let tools: ToolRegistry
    public let serverInfo: MCPServerInfo
    /// `nil` with `--provider none`: every caller is anonymous.
    public let authenticator: Authenticator?
    /// The embedded authorization server, served on the same port, when it is the provider.
    public let authorizationServer: AuthorizationServer?
    /// The per-user tools hub; `nil` serves only the fixed tools.
    public let hub: Hub?

    /// - Parameter tools: the tools every caller has; with a `hub`, its management tools are added.
    public init(
        configuration: GatehouseConfiguration, tools: [MCPTool] = BuiltinTools.all, serverInfo: MCPServerInfo = .gatehouse,
        authenticator: Authenticator? = nil, authorizationServer: AuthorizationServer? = nil, hub: Hub? = nil
    ) {
        self.configuration = configuration
        self.tools = ToolRegistry(tools + (hub?.managementTools ?? []))
        self.serverInfo = serverInfo
        self.authenticator = authenticator
        self.authorizationServer = authorizationServer
        self.hub = hub
    }

    /// Builds the server: opens (and migrates) the store, assembles the hub, and the
    /// authenticator. Unless the provider is lazy, its metadata is fetched first so a wrong
    /// domain or issuer stops start-up with the fix; the embedded provider loads its signing key.
    public static func make(
        configuration: GatehouseConfiguration, tools: [MCPTool] = BuiltinTools.all, logger: Logger
    ) async throws(StartupProblem) -> GatehouseServer {
        let store = try EmbeddedAuthorization.openStore(configuration)
        let hub = Hub(
            store: store, catalog: .standard(allowPrivateFetches: configuration.hub.allowPrivateFetches),
            secrets: EmbeddedAuthorization.secretBox(configuration),
            oauthProvider: configuration.auth.providerKind)
        guard configuration.auth.provider == .embedded else {
            let authenticator = try await Authenticator.make(
                settings: configuration.auth, resourceURL: configuration.resourceURL, logger: logger)
            return GatehouseServer(configuration: configuration, tools: tools, authenticator: authenticator, hub: hub)
        }
        let scopes = scopesSupported(configuration: configuration, tools: tools)
        let server = try await EmbeddedAuthorization.make(configuration: configuration, store: store, scopesSupported: scopes)
        var settings = configuration.auth
        settings.authorizationServer = settings.authorizationServer ?? server.settings.issuer
        // RFC 8707 / MCP authorization "Token Audience Binding": the MCP endpoint accepts only
        // tokens issued for it, not those the same server issued for its other resources.
        let audiences = settings.audiences.isEmpty ? [configuration.resourceURL] : settings.audiences
        let verifier = CachingVerifier(server.tokenVerifier(audiences: audiences, logger: logger))
        let authenticator = Authenticator(settings: settings, verifier: verifier, providerMetadata: nil)
        return GatehouseServer(
            configuration: configuration, tools: tools, authenticator: authenticator, authorizationServer: server, hub: hub)
    }

    /// Scopes advertised in `scopes_supported`: the required ones and every scope a tool needs.
    public var scopesSupported: [String] { Self.scopesSupported(configuration: configuration, tools: tools.tools) }

    static func scopesSupported(configuration: GatehouseConfiguration, tools: [MCPTool]) -> [String] {
        Set(configuration.auth.requiredScopes).union(tools.flatMap(\.requiredScopes)).sorted()
    }

    /// The router with every route: discovery documents, the MCP endpoint and `/healthz`.
    public func router() -> Router<GatehouseRequestContext> {
        let urls = PublicURLs(configuration: configuration)
        let endpoint = StreamableHTTPEndpoint(
            handler: MCPMethodHandler(serverInfo: serverInfo, tools: tools, toolSource: hub),
            sessions: SessionStore(idleTimeout: configuration.sessionIdleTimeout, capacity: configuration.maxSessions))
        let route = MCPRoute(endpoint: endpoint, maxBodyBytes: configuration.maxBodyBytes, urls: urls)
        let originPolicy = OriginPolicy(configuration: configuration)

        let router = Router(context: GatehouseRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: CORSMiddleware(policy: originPolicy))
        HealthRoute.register(on: router)

        let mcp = router.group(RouterPath(configuration.mcpPath))
            .add(middleware: OriginCheckMiddleware(policy: originPolicy))
        if let authenticator {
            DiscoveryRoutes(authenticator: authenticator, urls: urls, scopesSupported: scopesSupported).register(on: router)
            let required = configuration.auth.requiredScopes
            mcp.add(middleware: AuthMiddleware(authenticator: authenticator, urls: urls, challengeScopes: required.isEmpty ? scopesSupported : required))
        }
        if let hub { mcp.add(middleware: UserProvisioningMiddleware(users: hub.users)) }
        if let authorizationServer {
            EmbeddedAuthorization.register(authorizationServer, configuration: configuration, on: router)
        }
        for method in [HTTPRequest.Method.post, .get, .delete, .put, .patch] {
            mcp.on("", method: method, use: route.respond)
        }
        return router
    }

    /// The runnable application; `onRunning` receives the bound port once it listens.
    public func application(
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: GuardedHTTPServer.builder(configuration.connections, logger: logger),
            configuration: GuardedHTTPServer.configuration(
                host: configuration.host, port: configuration.port, settings: configuration.connections),
            services: EmbeddedAuthorization.services(authorizationServer, logger: logger),
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
