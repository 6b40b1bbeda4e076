import GatehouseCore
import MCP

/// Content a tool returns (MCP `ContentBlock`: text, image, audio, resource, resource link).
public typealias ToolContent = MCP.Tool.Content

/// The result of a tool call: content for the model, optional structured content,
/// and whether it reports a failure of the tool itself.
public struct ToolResult: Sendable, Equatable {
    public var content: [ToolContent]
    /// A JSON object matching the tool's output schema, if it has one.
    public var structuredContent: JSONValue?
    /// True when the tool ran but failed; the content explains why (tools, "Error Handling").
    public var isError: Bool

    public init(content: [ToolContent], structuredContent: JSONValue? = nil, isError: Bool = false) {
        self.content = content
        self.structuredContent = structuredContent
        self.isError = isError
    }

    /// A result with one text block.
    public static func text(_ text: String) -> ToolResult {
        ToolResult(content: [.text(text: text, annotations: nil, _meta: nil)])
    }

    /// A result with `structured` as structured content and its JSON text as the text block,
    /// which the tools specification asks for backwards compatibility.
    public static func structured(_ structured: JSONValue, text: String) -> ToolResult {
        ToolResult(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: structured)
    }

    /// A tool execution error with `message` as its text.
    public static func error(_ message: String) -> ToolResult {
        ToolResult(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }
}

/// An error a tool handler throws to report a failure the model should see.
///
/// It becomes a result with `isError: true` and ``message`` as its text. Any other
/// error thrown by a handler becomes a generic message, so internal details are not
/// sent to clients.
public struct ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
