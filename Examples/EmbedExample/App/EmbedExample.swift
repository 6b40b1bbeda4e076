import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseServer
import Hummingbird
import Logging
import NIOCore

/// An ordinary Hummingbird application's own request context. To host Gatehouse's mounts it
/// adds one stored property (`gatehouse`) and its peer's address.
public struct AppContext: GatehouseContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var gatehouse = GatehouseRequestState()
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The application's own tool, typed: its arguments are a struct, and its JSON Schema is
/// derived from that struct.
struct Greeting: ToolInput {
    var name: String
    var excited: Bool?
    static let descriptions = ["name": "Who to greet.", "excited": "End with an exclamation mark."]
}

let greet = try! MCPTool(  // the schema comes from Greeting, a fixed struct; the tests check it
    name: "greet", description: "Greets someone by name, and says who asked."
) { (input: Greeting, context: ToolContext) in
    ["message": "Hello, \(input.name)\(input.excited == true ? "!" : ".")", "asked_by": context.principal.subject]
}

/// The application: its own route `GET /` (no login), and Gatehouse's protected MCP endpoint at
/// `/mcp` with `greet` and `add`, protected as the configuration says (for example
/// `MCP_PROVIDER_TYPE=static MCP_STATIC_TOKENS=...`, or `WORKOS_AUTHKIT_DOMAIN=...`).
public func buildApplication(configuration: GatehouseConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
    let gatehouse = try await GatehouseServer.make(
        configuration: configuration, tools: [greet, BuiltinTools.add], withHub: false, logger: logger)
    let router = Router(context: AppContext.self)
    router.get("/") { _, _ in "An ordinary Hummingbird app. Its MCP endpoint is /mcp; sign in to use it.\n" }
    gatehouse.mount(on: router)
    return Application(
        router: router,
        server: .gatehouse(configuration.connections, logger: logger),
        configuration: .gatehouse(
            host: configuration.host, port: configuration.port, connections: configuration.connections, serverName: "embed-example"),
        services: gatehouse.services,
        logger: logger)
}
