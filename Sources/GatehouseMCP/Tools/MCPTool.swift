import GatehouseCore
import MCP

/// Display and behaviour hints of a tool (MCP `ToolAnnotations`).
public typealias ToolAnnotations = MCP.Tool.Annotations

/// A tool a server exposes: its description for `tools/list` and the handler `tools/call` runs.
///
/// ```swift
/// let greet = MCPTool(
///     name: "greet",
///     description: "Greets the caller by name.",
///     inputSchema: ["type": "object", "properties": ["name": ["type": "string"]], "required": ["name"]]
/// ) { arguments, context in
///     .text("Hello, \(try arguments.string("name"))! You are \(context.principal.subject).")
/// }
/// ```
///
/// Arguments are validated against `inputSchema` before the handler runs, so a
/// handler can rely on required properties being present with the declared types.
public struct MCPTool: Sendable {
    public typealias Handler = @Sendable (ToolArguments, ToolContext) async throws -> ToolResult

    /// Unique name, 1–128 characters of `A-Z a-z 0-9 _ - .` (tools, "Tool Names", 2025-11-25).
    public let name: String
    public var title: String?
    public var description: String
    /// JSON Schema (an object schema) the arguments must satisfy.
    public var inputSchema: JSONValue {
        didSet { argumentValidator = JSONSchemaValidator(schema: inputSchema) }
    }
    /// `inputSchema` compiled once, to validate the arguments of every call.
    private(set) var argumentValidator: JSONSchemaValidator
    /// JSON Schema of `structuredContent`, when the tool returns structured results.
    public var outputSchema: JSONValue?
    public var annotations: ToolAnnotations
    /// Scopes a caller's token must carry to see and call this tool. Calling it without them
    /// gets HTTP 403 `insufficient_scope` naming every scope needed, so clients can step up.
    public var requiredScopes: Set<String>
    public var handler: Handler

    public init(
        name: String, title: String? = nil, description: String, inputSchema: JSONValue,
        outputSchema: JSONValue? = nil, annotations: ToolAnnotations = nil, requiredScopes: Set<String> = [],
        handler: @escaping Handler
    ) {
        precondition(Self.isValidName(name), "invalid MCP tool name: \(name)")
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.argumentValidator = JSONSchemaValidator(schema: inputSchema)
        self.outputSchema = outputSchema
        self.annotations = annotations
        self.requiredScopes = requiredScopes
        self.handler = handler
    }

    /// True for names the 2025-11-25 tools specification allows.
    public static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }

    /// True when `principal` may see and call this tool. Without authentication (an
    /// anonymous caller) there are no scopes to check, so every tool is available.
    public func isAvailable(to principal: Principal) -> Bool {
        principal.isAnonymous || requiredScopes.isSubset(of: principal.scopes)
    }

    /// The descriptor `tools/list` returns.
    var descriptor: MCP.Tool {
        MCP.Tool(
            name: name, title: title, description: description, inputSchema: inputSchema,
            annotations: annotations, outputSchema: outputSchema)
    }
}
