import Foundation
import GatehouseCore
import GatehouseMCP

extension AccountAccess {
    /// The tools every caller has to manage their accounts: connect one (be asked to sign in to
    /// it), disconnect one. `remove` removes a connection and its tokens.
    public func managementTools(
        userID: @escaping @Sendable (ToolContext) async throws -> Int64, remove: @escaping @Sendable (Int64, String) async throws -> Bool
    ) -> [MCPTool] {
        let names = providers.all.map(\.name)
        let titles = providers.all.map { "\($0.name) (\($0.title))" }.joined(separator: ", ")
        let accountArgument: JSONValue = [
            "type": "object", "properties": ["account": ["type": "string", "enum": .array(names.map(JSONValue.string))]], "required": ["account"],
        ]
        return [
            MCPTool(
                name: "connect_account",
                description: "Connects one of your accounts (\(titles)) so your tools (http_fetch with account) can use it: asks you to sign in to it.",
                inputSchema: accountArgument
            ) { [self] arguments, context in
                let provider = try self.provider(try arguments.string("account"))
                let connection = try await accountConnection(userID: try await userID(context), provider: provider)
                guard connection.status == .connected else {
                    throw try signInNeeded(connection, provider, scopes: [], again: connection.status == .reconnectNeeded)
                }
                return .text("Your \(provider.title) account is connected. To connect another, disconnect_account first.")
            },
            MCPTool(
                name: "disconnect_account",
                description: "Disconnects one of your accounts and forgets the hub's tokens for it.",
                inputSchema: accountArgument
            ) { [self] arguments, context in
                let provider = try self.provider(try arguments.string("account"))
                let owner = try await userID(context)
                guard try await store.connection(userID: owner, name: provider.name)?.kind == .account, try await remove(owner, provider.name) else {
                    throw ToolError("your \(provider.title) account is not connected")
                }
                return .text(
                    "Disconnected your \(provider.title) account. The hub no longer holds tokens for it; revoke the hub's access in your \(provider.title) settings too if you wish."
                )
            },
        ]
    }
}
