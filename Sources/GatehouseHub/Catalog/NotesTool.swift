import Foundation
import GatehouseCore
import GatehouseMCP

extension ToolKind {
    /// Per-user notes: `notes_add` and `notes_list`.
    public static let notes = ToolKind(
        name: "notes",
        description: "A private notebook: add notes and list them. Nobody else sees your notes.",
        configurationSchema: [
            "type": "object", "additionalProperties": false,
            "properties": [
                "notebook": ["type": "string", "minLength": 1, "maxLength": 100, "description": "A title for the notebook."],
                "max_notes": ["type": "integer", "minimum": 1, "maximum": 10000, "description": "Most notes kept (default 1000)."],
            ],
        ],
        toolNames: ["notes_add", "notes_list"],
        data: [.notes]
    ) { activation in
        let limit = activation.integer("max_notes", default: 1000)
        let notebook = activation.configuration["notebook"]?.stringValue ?? "Notes"
        return [
            MCPTool(
                name: "notes_add", description: "Adds a note to your notebook \"\(notebook)\".",
                inputSchema: [
                    "type": "object", "required": ["text"], "additionalProperties": false,
                    "properties": ["text": ["type": "string", "minLength": 1, "maxLength": 10000]],
                ]
            ) { arguments, _ in
                guard let id = try await activation.store.addNote(
                    userID: activation.userID, text: try arguments.string("text"), quota: Quota(limit: limit), now: Date())
                else { throw ToolError("your notebook is full (\(limit) notes); raise max_notes with configure_tool") }
                return .structured(["id": .int(Int(id))], text: "Noted (#\(id)).")
            },
            MCPTool(
                name: "notes_list", description: "Lists the newest notes of your notebook \"\(notebook)\".",
                inputSchema: [
                    "type": "object", "additionalProperties": false,
                    "properties": ["limit": ["type": "integer", "minimum": 1, "maximum": 100]],
                ]
            ) { arguments, _ in
                let count = arguments["limit"] == nil ? 20 : try arguments.integer("limit")
                let notes = try await activation.store.notes(userID: activation.userID, limit: count)
                let items: [JSONValue] = notes.map { ["id": .int(Int($0.id)), "text": .string($0.text)] }
                let text = notes.isEmpty ? "No notes yet." : notes.map { "#\($0.id) \($0.text)" }.joined(separator: "\n")
                return .structured(["notes": .array(items)], text: text)
            },
        ]
    }
}
