import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseMCP

extension Hub {
    /// The tools every signed-in user has for managing their own tools.
    public var managementTools: [MCPTool] {
        let toolName: JSONValue = ["type": "string", "minLength": 1, "maxLength": 64, "description": "A name from list_available_tools."]
        let configuration: JSONValue = ["type": "object", "description": "Configuration matching the tool's configuration_schema."]
        return [
            MCPTool(
                name: "list_available_tools", description: "Lists the tools you can add to your account, with their configuration schema.",
                inputSchema: ["type": "object", "additionalProperties": false], annotations: .init(readOnlyHint: true)
            ) { [self] _, context in try await listAvailable(context) },
            MCPTool(
                name: "add_tool", description: "Adds a tool to your account with its configuration; its tools then appear in your tools/list.",
                inputSchema: [
                    "type": "object", "required": ["tool_name"], "additionalProperties": false,
                    "properties": ["tool_name": toolName, "config": configuration],
                ]
            ) { [self] arguments, context in try await add(arguments, context) },
            MCPTool(
                name: "remove_tool", description: "Removes a tool from your account and deletes its data.",
                inputSchema: [
                    "type": "object", "required": ["tool_name"], "additionalProperties": false, "properties": ["tool_name": toolName],
                ],
                annotations: .init(destructiveHint: true)
            ) { [self] arguments, context in try await remove(arguments, context) },
            MCPTool(
                name: "list_my_tools", description: "Lists the tools on your account with their configuration (secrets hidden).",
                inputSchema: ["type": "object", "additionalProperties": false], annotations: .init(readOnlyHint: true)
            ) { [self] _, context in try await listMine(context) },
            MCPTool(
                name: "configure_tool", description: "Replaces the configuration of a tool on your account.",
                inputSchema: [
                    "type": "object", "required": ["tool_name", "config"], "additionalProperties": false,
                    "properties": ["tool_name": toolName, "config": configuration],
                ]
            ) { [self] arguments, context in try await configure(arguments, context) },
        ]
    }

    private func listAvailable(_ context: ToolContext) async throws -> ToolResult {
        let userID = try await accountID(of: context.principal)
        let active = Set(try await store.activeTools(userID: userID).map(\.name))
        let kinds: [JSONValue] = catalog.kinds.map { kind in
            [
                "tool_name": .string(kind.name), "description": .string(kind.description),
                "configuration_schema": kind.configurationSchema, "tools": .array(kind.toolNames.map { .string($0) }),
                "secret_fields": .array(kind.secretFields.sorted().map { .string($0) }), "active": .bool(active.contains(kind.name)),
            ]
        }
        let text = catalog.kinds.map { "\($0.name)\(active.contains($0.name) ? " (active)" : ""): \($0.description)" }
        return .structured(["tools": .array(kinds)], text: text.joined(separator: "\n"))
    }

    private func add(_ arguments: ToolArguments, _ context: ToolContext) async throws -> ToolResult {
        let (kind, stored) = try validated(arguments)
        let userID = try await accountID(of: context.principal)
        guard try await store.activateTool(userID: userID, name: kind.name, configuration: stored, now: Date()) else {
            throw ToolError("\(kind.name) is already on your account; change it with configure_tool or remove it with remove_tool")
        }
        changed("added", kind.name, userID: userID, context)
        context.logger.info("user added a tool", metadata: ["user": "\(userID)", "tool": "\(kind.name)"])
        return .structured(
            ["tool_name": .string(kind.name), "tools": .array(kind.toolNames.map { .string($0) })],
            text: "Added \(kind.name). New tools: \(kind.toolNames.joined(separator: ", ")) (list your tools again to see them).")
    }

    private func remove(_ arguments: ToolArguments, _ context: ToolContext) async throws -> ToolResult {
        let name = try arguments.string("tool_name")
        let userID = try await accountID(of: context.principal)
        guard try await store.deactivateTool(userID: userID, name: name, deleting: catalog.kind(named: name)?.data ?? []) else {
            throw ToolError("\(name.prefix(64)) is not on your account; list_my_tools shows what is")
        }
        changed("removed", name, userID: userID, context)
        return .text("Removed \(name) and its data.")
    }

    private func listMine(_ context: ToolContext) async throws -> ToolResult {
        let userID = try await accountID(of: context.principal)
        let active = try await store.activeTools(userID: userID)
        let items: [JSONValue] = try active.map { tool in
            [
                "tool_name": .string(tool.name), "config": .object(SecretBox.redact(try Self.object(tool.configuration))),
                "tools": .array((catalog.kind(named: tool.name)?.toolNames ?? []).map { .string($0) }),
            ]
        }
        let text = active.isEmpty ? "No tools yet; see list_available_tools." : active.map(\.name).joined(separator: ", ")
        return .structured(["tools": .array(items)], text: text)
    }

    private func configure(_ arguments: ToolArguments, _ context: ToolContext) async throws -> ToolResult {
        let (kind, stored) = try validated(arguments)
        let userID = try await accountID(of: context.principal)
        guard try await store.configureTool(userID: userID, name: kind.name, configuration: stored, now: Date()) else {
            throw ToolError("\(kind.name) is not on your account; add it with add_tool first")
        }
        changed("configured", kind.name, userID: userID, context)
        return .text("Configured \(kind.name).")
    }

    /// After a change of `userID`'s tools: their cached list is dropped, and the change audited
    /// (never the configuration, which may hold secrets).
    private func changed(_ action: String, _ tool: String, userID: Int64, _ context: ToolContext) {
        invalidate(userID: userID)
        AuditLog.record(
            .hubToolsChanged,
            [
                "action": .string(action), "tool": .string(tool), "user_id": .int(Int(userID)), "sub": .string(context.principal.subject),
                "iss": .audit(context.principal.issuer),
            ])
    }

    /// The kind named by `tool_name` and `config` checked against its schema, secrets sealed, as stored JSON.
    private func validated(_ arguments: ToolArguments) throws -> (ToolKind, String) {
        let name = try arguments.string("tool_name")
        guard let kind = catalog.kind(named: name) else {
            throw ToolError(
                "there is no tool named \(name.prefix(64)); available: \(catalog.kinds.map(\.name).joined(separator: ", "))")
        }
        let configuration: [String: JSONValue]
        switch arguments["config"] {
        case nil, .null?: configuration = [:]
        case .object(let object)?: configuration = object
        default: throw ToolError("config must be an object")
        }
        let violations = JSONSchemaValidator(schema: kind.configurationSchema).validate(.object(configuration))
        guard violations.isEmpty else {
            throw ToolError("invalid config for \(kind.name): \(violations.map(\.description).joined(separator: "; "))")
        }
        do {
            var writer = JSONWriter()
            writer.value(.object(try secrets.seal(configuration, fields: kind.secretFields)))
            return (kind, String(decoding: writer.bytes, as: UTF8.self))
        } catch {
            throw ToolError("\(error)")
        }
    }
}
