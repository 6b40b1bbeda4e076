import Foundation

/// The tools a server exposes, in registration order, looked up by name.
///
/// Each tool's `tools/list` descriptor is encoded once, when it is registered.
public struct ToolRegistry: Sendable {
    struct Entry: Sendable {
        let tool: MCPTool
        let descriptorJSON: [UInt8]
    }

    private var order: [String] = []
    private var byName: [String: Entry] = [:]

    public init(_ tools: [MCPTool] = []) {
        for tool in tools { register(tool) }
    }

    /// Adds `tool`, replacing a registered tool of the same name.
    public mutating func register(_ tool: MCPTool) {
        let descriptor = (try? JSONEncoder.jsonRPC.encode(tool.descriptor)).map { Array($0) } ?? Array(#"{"name":"\#(tool.name)"}"#.utf8)
        if byName.updateValue(Entry(tool: tool, descriptorJSON: descriptor), forKey: tool.name) == nil {
            order.append(tool.name)
        }
    }

    public func tool(named name: String) -> MCPTool? { byName[name]?.tool }

    /// Every tool, in registration order.
    public var tools: [MCPTool] { order.compactMap { byName[$0]?.tool } }

    /// Every entry, in registration order.
    var entries: [Entry] { order.compactMap { byName[$0] } }
}
