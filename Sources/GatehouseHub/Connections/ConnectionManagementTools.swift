import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseMCP

extension ConnectionTools {
    /// The tools every caller has to manage their own MCP servers: add one (and be asked to sign
    /// in to it), remove one.
    public var managementTools: [MCPTool] {
        [connectTool, disconnectTool]
    }

    /// The tool that lists every connection of the caller's, servers and accounts.
    public var listConnectionsTool: MCPTool { listTool }

    private var connectTool: MCPTool {
        MCPTool(
            name: "connect_mcp_server",
            description:
                "Adds a remote MCP server of yours under a short name and asks you to sign in to it; its tools then appear as <name>_<tool>, for you only.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "name": [
                        "type": "string", "pattern": .string("^" + UserConnection.namePattern + "$"),
                        "description": "Lowercase letters, digits and -, e.g. linear; it prefixes the server's tool names.",
                    ],
                    "url": ["type": "string", "description": "The server's MCP endpoint, e.g. https://mcp.linear.app/mcp"],
                ],
                "required": ["name", "url"],
            ]
        ) { [self] arguments, context in
            let connection = try await add(
                userID: try await accountID(of: context.principal), name: try arguments.string("name"), url: try arguments.string("url"))
            throw try signInNeeded(connection, again: false)
        }
    }

    /// Adds `userID`'s server `url` as `name`, within the limit; the ``ToolError`` says what to fix.
    public func add(userID: Int64, name: String, url: String) async throws -> UserConnection {
        guard UserConnection.isValidName(name) else {
            throw ToolError("a name is 1 to 24 lowercase letters, digits and -, starting with a letter, e.g. linear")
        }
        guard !accountNames.contains(name) else {
            throw ToolError("\(name) is the name of an account you can connect (connect_account); give the server another name")
        }
        let now = Date()
        let connection = UserConnection(userID: userID, name: name, serverURL: try await checkedServerURL(url), createdAt: now, updatedAt: now)
        guard try await store.addConnection(connection, limit: limit) else {
            if try await store.connection(userID: userID, name: name) != nil {
                throw ToolError("you already have a connection named \(name); remove it first")
            }
            throw ToolError("you already have \(limit) connections; remove one first")
        }
        AuditLog.record(.hubToolsChanged, ["action": "connected", "tool": .string("mcp_server:" + name), "user_id": .int(Int(userID))])
        return connection
    }

    /// `userID`'s servers, by name.
    public func connections(of userID: Int64) async throws -> [UserConnection] {
        try await store.connections(userID: userID)
    }

    /// Removes `userID`'s connection `name` (a server or an account) and the hub's tokens for
    /// it; false when there is none.
    public func remove(userID: Int64, name: String) async throws -> Bool {
        guard let connection = try await store.connection(userID: userID, name: name),
            try await store.removeConnection(userID: userID, name: name)
        else { return false }
        forget(userID: userID, name: name)
        AuditLog.record(
            .hubToolsChanged, ["action": "disconnected", "tool": .string(connection.kind.rawValue + ":" + name), "user_id": .int(Int(userID))])
        return true
    }

    private var disconnectTool: MCPTool {
        MCPTool(
            name: "disconnect_mcp_server",
            description: "Removes one of your MCP server connections and forgets the hub's tokens for it.",
            inputSchema: ["type": "object", "properties": ["name": ["type": "string"]], "required": ["name"]]
        ) { [self] arguments, context in
            let name = try arguments.string("name")
            let userID = try await accountID(of: context.principal)
            guard try await store.connection(userID: userID, name: name)?.kind == .mcpServer, try await remove(userID: userID, name: name) else {
                throw ToolError("you have no MCP server connection named \(name)")
            }
            return .text("Removed \(name). The hub no longer holds tokens for it; revoke its access at the server too if you wish.")
        }
    }

    private var listTool: MCPTool {
        MCPTool(
            name: "list_my_connections",
            description: "Lists your connections (MCP servers and accounts) and whether each is signed in.",
            inputSchema: ["type": "object", "properties": [:]]
        ) { [self] _, context in
            let connections = try await store.connections(userID: try await accountID(of: context.principal))
            let listed: [JSONValue] = connections.map { connection in
                [
                    "name": .string(connection.name), "kind": .string(connection.kind.rawValue), "url": .string(connection.serverURL),
                    "status": .string(connection.status.rawValue),
                ]
            }
            let text =
                connections.isEmpty
                ? "You have no connections."
                : connections.map { "\($0.name): \($0.kind == .account ? "account" : $0.serverURL) (\($0.status.rawValue))" }
                    .joined(separator: "\n")
            return .structured(["connections": .array(listed)], text: text)
        }
    }

    /// `url` when the hub may connect to it: https, or http to a private address where those are
    /// allowed; never to a private address otherwise.
    private func checkedServerURL(_ url: String) async throws -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host,
            !host.isEmpty, scheme == "https" || (allowPrivateServers && scheme == "http")
        else { throw ToolError("url must be an https URL of an MCP endpoint, e.g. https://mcp.example.com/mcp") }
        if !allowPrivateServers, let refusal = await AddressPolicy.refusal(forHost: host) { throw ToolError(refusal) }
        return url
    }
}
