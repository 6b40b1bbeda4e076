import Foundation
import GatehouseAuth
import GatehouseClient
import GatehouseCore
import GatehouseEgress
import GatehouseMCP
import Logging
import Synchronization

/// Each hub user's own remote MCP servers, as tools of theirs.
///
/// A user adds a server with `connect_mcp_server`; once they have signed in to it (through the
/// link the hub gives, or a URL elicitation), its tools appear in their `tools/list` only, named
/// `<connection>_<tool>`, and calls go to the server with the user's token for it, which the hub
/// keeps sealed and refreshes. Until then, and when the server stops accepting the hub's tokens,
/// the connection shows one tool, `<connection>_connect`, that asks the user to sign in.
public final class ConnectionTools: ToolSource {
    let store: any ConnectionStore
    let users: UserDirectory
    let tokens: ConnectionTokens
    let links: ConnectLinks
    let http: EgressClient
    /// Whether servers on private addresses (loopback, the LAN) may be added.
    let allowPrivateServers: Bool
    /// Most server connections per user.
    let limit: Int
    /// The names of the operator's account providers, which servers may not take.
    let accountNames: Set<String>
    /// How long a server's tool list is served from memory.
    let listLifetime: TimeInterval
    let logger: Logger
    private let lists = Mutex<[ListKey: (tools: [JSONValue], loadedAt: Date)]>([:])

    private struct ListKey: Hashable {
        let userID: Int64
        let name: String
    }

    public init(
        store: any ConnectionStore, users: UserDirectory, tokens: ConnectionTokens, links: ConnectLinks, http: EgressClient = .clientDefault,
        allowPrivateServers: Bool, accountNames: Set<String> = [], limit: Int = 20, listLifetime: TimeInterval = 60,
        logger: Logger = Logger(label: "gatehouse.hub")
    ) {
        self.accountNames = accountNames
        self.store = store
        self.users = users
        self.tokens = tokens
        self.links = links
        self.http = http
        self.allowPrivateServers = allowPrivateServers
        self.limit = limit
        self.listLifetime = listLifetime
        self.logger = logger
    }

    public func tools(for principal: Principal) async throws -> ToolRegistry {
        let userID = try await accountID(of: principal)
        var registry = ToolRegistry()
        for connection in try await store.connections(userID: userID) where connection.kind == .mcpServer {
            for tool in await tools(of: connection) { registry.register(tool) }
        }
        return registry
    }

    /// A call to a tool of a connection that needs a sign-in asks for it, rather than failing
    /// as an unknown tool (its list may no longer be known).
    public func tool(named name: String, for principal: Principal) async throws -> MCPTool? {
        if let tool = try await tools(for: principal).tool(named: name) { return tool }
        let userID = try await accountID(of: principal)
        for connection in try await store.connections(userID: userID)
        where connection.kind == .mcpServer && connection.status != .connected && name.hasPrefix(connection.name + "_")
            && MCPTool.isValidName(name)
        {
            return MCPTool(name: name, description: "", inputSchema: ["type": "object"]) { [self] _, _ in
                throw try signInNeeded(connection, again: connection.status == .reconnectNeeded)
            }
        }
        return nil
    }

    /// A connected server's tools, or the tool that asks the user to sign in.
    private func tools(of connection: UserConnection) async -> [MCPTool] {
        guard connection.status == .connected else { return [connectTool(connection)] }
        do {
            return try await remoteTools(of: connection).compactMap { forwardedTool($0, of: connection) }
        } catch {
            // A server that refused the hub's tokens needs a new sign-in; one that does not answer
            // shows no tools until it does.
            logger.warning("a connected server's tools cannot be listed", metadata: ["connection": "\(connection.name)", "error": "\(error)"])
            let now = try? await store.connection(userID: connection.userID, name: connection.name)
            return now.map { $0.status == .reconnectNeeded ? [connectTool($0)] : [] } ?? []
        }
    }

    /// The server's `tools/list`, from memory for ``listLifetime``.
    private func remoteTools(of connection: UserConnection) async throws -> [JSONValue] {
        let key = ListKey(userID: connection.userID, name: connection.name)
        if let cached = lists.withLock({ $0[key] }), Date().timeIntervalSince(cached.loadedAt) < listLifetime { return cached.tools }
        let listed = try await session(for: connection) { client throws(ClientError) in try await client.listTools() }
        lists.withLock { $0[key] = (listed, Date()) }
        return listed
    }

    /// Runs `body` with a client of `connection`'s server that sends the user's token.
    private func session<T: Sendable>(
        for connection: UserConnection, _ body: (MCPClient) async throws(ClientError) -> T
    ) async throws -> T {
        guard case .token(let token) = try await tokens.access(connection) else {
            throw ConnectionError("\(connection.name) needs you to sign in to it again")
        }
        let source = UserTokenSource(tokens: tokens, userID: connection.userID, name: connection.name, current: token)
        let client = MCPClient(serverURL: connection.serverURL, tokens: source, http: http)
        defer { Task { await client.close() } }
        do {
            try await client.connect()
            return try await body(client)
        } catch {
            throw ConnectionError("\(connection.name) (\(connection.serverURL)) failed: \(error.description)")
        }
    }

    /// `descriptor`, a tool of the server, as `<connection>_<name>`; `nil` when the name would
    /// not be a valid MCP tool name.
    private func forwardedTool(_ descriptor: JSONValue, of connection: UserConnection) -> MCPTool? {
        guard let fields = descriptor.objectValue, let original = fields["name"]?.stringValue else { return nil }
        let name = connection.name + "_" + original
        guard MCPTool.isValidName(name), name.count <= 64 else { return nil }
        let schema = fields["inputSchema"].flatMap { $0.objectValue != nil ? $0 : nil } ?? ["type": "object"]
        return MCPTool(
            name: name, title: fields["title"]?.stringValue,
            description: "[\(connection.name)] " + (fields["description"]?.stringValue ?? original), inputSchema: schema
        ) { [self] arguments, _ in
            try await call(original, arguments: arguments, of: connection)
        }
    }

    /// Calls `original` on the server; a server that no longer accepts the hub's tokens makes
    /// the call ask the user to sign in again.
    private func call(_ original: String, arguments: ToolArguments, of connection: UserConnection) async throws -> ToolResult {
        do {
            let result = try await session(for: connection) { client throws(ClientError) in
                try await client.callTool(original, arguments: arguments.values)
            }
            return Self.toolResult(result)
        } catch let error as ConnectionError {
            if (try? await store.connection(userID: connection.userID, name: connection.name))?.status == .reconnectNeeded {
                throw try signInNeeded(connection, again: true)
            }
            throw ToolError(error.description)
        }
    }

    /// The tool that asks the user to sign in to `connection`.
    private func connectTool(_ connection: UserConnection) -> MCPTool {
        MCPTool(
            name: connection.name + "_connect",
            description: "Sign in to \(connection.name) (\(connection.serverURL)) so its tools become available to you.",
            inputSchema: ["type": "object", "properties": [:]]
        ) { [self] _, _ in
            throw try signInNeeded(connection, again: connection.status == .reconnectNeeded)
        }
    }

    /// The URL elicitation (or, for clients that cannot be asked, the tool error with the link).
    func signInNeeded(_ connection: UserConnection, again: Bool) throws -> URLElicitationRequired {
        let link = try links.link(userID: connection.userID, name: connection.name)
        let message =
            again
            ? "\(connection.name) needs you to sign in to it again." : "Sign in to \(connection.name) to use its tools."
        return URLElicitationRequired(url: link, message: message, elicitationID: Base64URL.random(byteCount: 16))
    }

    /// Forgets `userID`'s cached tool list of `name`, after a sign-in or a removal.
    public func forget(userID: Int64, name: String) {
        _ = lists.withLock { $0.removeValue(forKey: ListKey(userID: userID, name: name)) }
    }

    /// The hub user id of `principal`: the one the request resolved, else a lookup that provisions.
    public func accountID(of principal: Principal) async throws -> Int64 {
        if let accountID = principal.accountID { return accountID }
        return try await users.user(for: principal).id
    }

    /// A `tools/call` result from the server, as this hub's result.
    static func toolResult(_ result: [String: JSONValue]) -> ToolResult {
        var writer = JSONWriter()
        writer.value(result["content"] ?? [])
        let content = (try? JSONDecoder().decode([ToolContent].self, from: Data(writer.bytes))) ?? []
        return ToolResult(content: content, structuredContent: result["structuredContent"], isError: result["isError"]?.boolValue ?? false)
    }
}

/// The user's token for one connection, as ``MCPClient`` asks for it: the one just checked, and
/// on a 401 from the server a refreshed one (or none, when the user must sign in again).
struct UserTokenSource: AccessTokenSource {
    let tokens: ConnectionTokens
    let userID: Int64
    let name: String
    let current: String

    func accessToken() async throws(ClientError) -> String? { current }

    func replacement(for rejected: String) async throws(ClientError) -> String? {
        do {
            guard case .token(let token) = try await tokens.access(userID: userID, name: name, rejected: rejected) else { return nil }
            return token
        } catch {
            throw ClientError("\(error)")
        }
    }
}
