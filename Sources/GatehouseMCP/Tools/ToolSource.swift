import GatehouseCore

/// Tools that depend on who is calling: the hub's per-user tools.
///
/// ``MCPMethodHandler`` asks its source on every `tools/list` and on a `tools/call` whose name
/// is not one of its fixed tools, so implementations cache.
public protocol ToolSource: Sendable {
    /// The tools `principal` has, in the order `tools/list` shows them.
    func tools(for principal: Principal) async throws -> ToolRegistry
}
