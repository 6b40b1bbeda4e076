import GatehouseCore
import GatehouseMCP

/// A kind of tool a user can activate for their own account, with its configuration schema.
///
/// Activating a kind stores the user's configuration; from then on the MCP tools the kind
/// makes appear in that user's `tools/list`, and nobody else's.
public struct ToolKind: Sendable {
    /// What users pass to `add_tool`, e.g. `notes`.
    public let name: String
    public let description: String
    /// JSON Schema of the configuration (an object); `add_tool` and `configure_tool` validate against it.
    public let configurationSchema: JSONValue
    /// Configuration fields encrypted at rest and never shown back.
    public let secretFields: Set<String>
    /// Names of the MCP tools an activation exposes (for `list_available_tools`).
    public let toolNames: [String]
    /// What the tools keep for each user; removing the tool deletes it.
    public let data: Set<ToolData>
    /// Builds the MCP tools of one user's activation.
    public let makeTools: @Sendable (ToolActivation) -> [MCPTool]

    public init(
        name: String, description: String, configurationSchema: JSONValue, secretFields: Set<String> = [], toolNames: [String],
        data: Set<ToolData> = [], makeTools: @escaping @Sendable (ToolActivation) -> [MCPTool]
    ) {
        self.name = name
        self.description = description
        self.configurationSchema = configurationSchema
        self.secretFields = secretFields
        self.toolNames = toolNames
        self.data = data
        self.makeTools = makeTools
    }
}

/// One user's activation of a ``ToolKind``: what its tools need to run.
public struct ToolActivation: Sendable {
    public let userID: Int64
    /// The configuration, secrets decrypted.
    public let configuration: [String: JSONValue]
    public let store: any HubStore

    public init(userID: Int64, configuration: [String: JSONValue], store: any HubStore) {
        self.userID = userID
        self.configuration = configuration
        self.store = store
    }

    /// An integer setting, or `fallback` when it is absent.
    public func integer(_ name: String, default fallback: Int) -> Int {
        switch configuration[name] {
        case .int(let value)?: value
        case .double(let value)?: Int(value)
        default: fallback
        }
    }
}
