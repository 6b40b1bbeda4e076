import GatehouseCore

/// Several sources of per-caller tools as one: the hub's activated tools and the caller's
/// connected servers, say. Lists are concatenated in order, and a name is looked up in each in
/// turn, so where two sources have a tool of one name the earlier one's is the caller's.
public struct ToolSources: ToolSource {
    public let sources: [any ToolSource]

    public init(_ sources: [any ToolSource]) {
        self.sources = sources
    }

    public func tools(for principal: Principal) async throws -> ToolRegistry {
        var combined = ToolRegistry()
        for source in sources {
            for tool in try await source.tools(for: principal).tools where combined.tool(named: tool.name) == nil {
                combined.register(tool)
            }
        }
        return combined
    }

    public func tool(named name: String, for principal: Principal) async throws -> MCPTool? {
        for source in sources {
            if let tool = try await source.tool(named: name, for: principal) { return tool }
        }
        return nil
    }
}
