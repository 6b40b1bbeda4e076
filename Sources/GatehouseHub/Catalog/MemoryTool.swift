import Foundation
import GatehouseCore
import GatehouseMCP

extension ToolKind {
    /// A per-user key-value memory: `memory_set`, `memory_get` and `memory_keys`.
    public static let memory = ToolKind(
        name: "memory",
        description: "A private key-value memory that persists between conversations.",
        configurationSchema: [
            "type": "object", "additionalProperties": false,
            "properties": [
                "max_keys": ["type": "integer", "minimum": 1, "maximum": 10000, "description": "Most keys kept (default 500)."]
            ],
        ],
        toolNames: ["memory_set", "memory_get", "memory_keys"],
        data: [.memory]
    ) { activation in
        let limit = activation.integer("max_keys", default: 500)
        let key: JSONValue = ["type": "string", "minLength": 1, "maxLength": 200]
        return [
            MCPTool(
                name: "memory_set", description: "Remembers a value under a key (replacing an earlier value).",
                inputSchema: [
                    "type": "object", "required": ["key", "value"], "additionalProperties": false,
                    "properties": ["key": key, "value": ["type": "string", "maxLength": 10000]],
                ]
            ) { arguments, _ in
                let name = try arguments.string("key")
                guard try await activation.store.remember(
                    userID: activation.userID, key: name, value: try arguments.string("value"), quota: Quota(limit: limit), now: Date())
                else { throw ToolError("your memory is full (\(limit) keys); raise max_keys with configure_tool") }
                return .text("Remembered \(name).")
            },
            MCPTool(
                name: "memory_get", description: "Recalls the value stored under a key.",
                inputSchema: ["type": "object", "required": ["key"], "additionalProperties": false, "properties": ["key": key]]
            ) { arguments, _ in
                let name = try arguments.string("key")
                guard let value = try await activation.store.recall(userID: activation.userID, key: name) else {
                    throw ToolError("nothing is stored under \(name)")
                }
                return .structured(["key": .string(name), "value": .string(value)], text: value)
            },
            MCPTool(
                name: "memory_keys", description: "Lists the keys in your memory.",
                inputSchema: ["type": "object", "additionalProperties": false]
            ) { _, _ in
                let keys = try await activation.store.memoryKeys(userID: activation.userID)
                return .structured(["keys": .array(keys.map { .string($0) })], text: keys.isEmpty ? "Empty." : keys.joined(separator: ", "))
            },
        ]
    }
}
