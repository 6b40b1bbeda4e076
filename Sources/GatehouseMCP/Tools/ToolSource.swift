import GatehouseCore

/// Tools that depend on who is calling: the hub's per-user tools.
///
/// ``MCPMethodHandler`` asks its source on every `tools/list` and on a `tools/call` whose name
/// is not one of its fixed tools, so implementations cache.
public protocol ToolSource: Sendable {
    /// The tools `principal` has, in the order `tools/list` shows them.
    func tools(for principal: Principal) async throws -> ToolRegistry

    /// The tool `principal` calls by `name`, or `nil` when they have none by that name. By
    /// default the one in ``tools(for:)``; a source whose copy can lag behind a change made
    /// elsewhere looks further before answering `nil`.
    func tool(named name: String, for principal: Principal) async throws -> MCPTool?
}

extension ToolSource {
    public func tool(named name: String, for principal: Principal) async throws -> MCPTool? {
        try await tools(for: principal).tool(named: name)
    }
}
