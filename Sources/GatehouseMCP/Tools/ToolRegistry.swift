/// The tools a server exposes, in registration order, looked up by name.
public struct ToolRegistry: Sendable {
    private var order: [String] = []
    private var byName: [String: MCPTool] = [:]

    public init(_ tools: [MCPTool] = []) {
        for tool in tools { register(tool) }
    }

    /// Adds `tool`, replacing a registered tool of the same name.
    public mutating func register(_ tool: MCPTool) {
        if byName.updateValue(tool, forKey: tool.name) == nil { order.append(tool.name) }
    }

    public func tool(named name: String) -> MCPTool? { byName[name] }

    /// Every tool, in registration order.
    public var tools: [MCPTool] { order.compactMap { byName[$0] } }
}
