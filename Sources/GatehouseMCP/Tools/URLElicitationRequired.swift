import GatehouseCore

/// Thrown by a tool whose call needs the user to visit a URL first (to sign in to a third party,
/// say): a client that declared URL-mode elicitation gets JSON-RPC error -32042 with the URL
/// (elicitation, 2025-11-25, "URL Elicitation Required Error"), then retries once the user is
/// done; any other client gets a tool error carrying the link, so the user can still follow it.
public struct URLElicitationRequired: Error, Sendable {
    public var url: String
    /// Why, for the user.
    public var message: String
    /// Unique within the server; the client treats it as opaque.
    public var elicitationID: String

    public init(url: String, message: String, elicitationID: String) {
        self.url = url
        self.message = message
        self.elicitationID = elicitationID
    }

    /// Whether `capabilities` (a client's `initialize` capabilities) declare URL-mode elicitation.
    public static func isSupported(by capabilities: JSONValue) -> Bool {
        capabilities.objectValue?["elicitation"]?.objectValue?["url"] != nil
    }

    var error: JSONRPCError {
        JSONRPCError(
            code: JSONRPCError.urlElicitationRequiredCode, message: message,
            data: [
                "elicitations": [
                    ["mode": "url", "elicitationId": .string(elicitationID), "url": .string(url), "message": .string(message)]
                ]
            ])
    }

    /// The tool error for a client that cannot be asked.
    var toolResult: ToolResult { .error("\(message) Open this link to continue, then call the tool again: \(url)") }
}
