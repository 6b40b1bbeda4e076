import GatehouseCore
import GatehouseHub
import GatehouseMCP
import Hummingbird
import Logging
import NIOCore

/// Assembles a Gatehouse HTTP application from a configuration and a set of tools.
///
/// ```swift
/// let server = GatehouseServer(configuration: config, tools: BuiltinTools.all + [myTool])
/// try await server.application(logger: logger).runService()
/// ```
public struct GatehouseServer: Sendable {
    public let configuration: GatehouseConfiguration
    public let tools: ToolRegistry
    public let serverInfo: MCPServerInfo

    public init(
        configuration: GatehouseConfiguration, tools: [MCPTool] = BuiltinTools.all,
        serverInfo: MCPServerInfo = .gatehouse
    ) {
        self.configuration = configuration
        self.tools = ToolRegistry(tools)
        self.serverInfo = serverInfo
    }

    /// The router with every route: the MCP endpoint at the configured path and `/healthz`.
    public func router() -> Router<GatehouseRequestContext> {
        let endpoint = StreamableHTTPEndpoint(
            handler: MCPMethodHandler(serverInfo: serverInfo, tools: tools),
            sessions: SessionStore(idleTimeout: configuration.sessionIdleTimeout, capacity: configuration.maxSessions))
        let route = MCPRoute(endpoint: endpoint, maxBodyBytes: configuration.maxBodyBytes)

        let router = Router(context: GatehouseRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.group(RouterPath(configuration.mcpPath))
            .add(middleware: OriginCheckMiddleware(policy: OriginPolicy(configuration: configuration)))
            .on("", method: .post, use: route.respond)
            .on("", method: .get, use: route.respond)
            .on("", method: .delete, use: route.respond)
            .on("", method: .put, use: route.respond)
            .on("", method: .patch, use: route.respond)
        return router
    }

    /// The runnable application; `onRunning` receives the bound port once it listens.
    public func application(
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "gatehouse"),
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
