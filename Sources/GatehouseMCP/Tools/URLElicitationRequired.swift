import GatehouseCore

/// Thrown by a tool whose call needs the user to visit a URL first (to sign in to a third party,
/// say). A client that declared URL-mode elicitation is asked: in a session, JSON-RPC error
/// -32042 with the URL (elicitation, 2025-11-25, "URL Elicitation Required Error"); stateless
/// (2026-07-28), an `input_required` result embedding the URL-mode `elicitation/create`. It
/// retries once the user is done. Any other client, or one whose user declined, gets a tool
/// error carrying the link, so the user can still follow it.
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

    /// Whether a retried stateless call's `inputResponses` say the user declined or cancelled.
    static func wasDeclined(in responses: JSONValue?) -> Bool {
        guard let responses = responses?.objectValue else { return false }
        return responses.values.contains { $0.objectValue?["action"]?.stringValue.map { $0 != "accept" } ?? false }
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
