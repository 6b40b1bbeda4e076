import Foundation
import GatehouseCore
import GatehouseMCP

/// The tools every Gatehouse hub serves: small, dependency-free demonstrations of
/// the tool API that also make a fresh deployment easy to check end to end.
public enum BuiltinTools {
    /// `echo`, `add`, `whoami` and `wait`.
    public static var all: [MCPTool] { [echo, add, whoami, wait] }

    /// Returns its `text` argument unchanged.
    public static let echo = MCPTool(
        name: "echo", title: "Echo",
        description: "Returns the given text unchanged. Useful to check that a client reaches the server.",
        inputSchema: [
            "type": "object",
            "properties": ["text": ["type": "string", "description": "The text to send back."]],
            "required": ["text"],
            "additionalProperties": false,
        ],
        annotations: ToolAnnotations(readOnlyHint: true, openWorldHint: false)
    ) { arguments, _ in
        .text(try arguments.string("text"))
    }

    /// Adds two numbers and returns the sum as text and as structured content.
    public static let add = MCPTool(
        name: "add", title: "Add",
        description: "Adds two numbers and returns their sum.",
        inputSchema: [
            "type": "object",
            "properties": [
                "a": ["type": "number", "description": "The first addend."],
                "b": ["type": "number", "description": "The second addend."],
            ],
            "required": ["a", "b"],
            "additionalProperties": false,
        ],
        outputSchema: [
            "type": "object",
            "properties": ["result": ["type": "number"]],
            "required": ["result"],
        ],
        annotations: ToolAnnotations(readOnlyHint: true, idempotentHint: true, openWorldHint: false)
    ) { arguments, _ in
        let sum = try arguments.number("a") + arguments.number("b")
        guard sum.isFinite else { throw ToolError("the sum is too large to represent") }
        let result: JSONValue = sum.rounded() == sum && abs(sum) < 9.0e15 ? .int(Int(sum)) : .double(sum)
        return .structured(["result": result], text: result.description)
    }

    /// Describes the authenticated caller: the principal every tool receives.
    public static let whoami = MCPTool(
        name: "whoami", title: "Who am I",
        description: "Describes the caller as the server authenticated it: subject, issuer, email, client and scopes.",
        inputSchema: ["type": "object", "properties": [:], "additionalProperties": false],
        annotations: ToolAnnotations(readOnlyHint: true, openWorldHint: false)
    ) { _, context in
        let principal = context.principal
        var fields: [String: JSONValue] = [
            "subject": .string(principal.subject),
            "authenticated": .bool(!principal.isAnonymous),
            "scopes": .array(principal.scopes.sorted().map { .string($0) }),
        ]
        fields["issuer"] = principal.issuer.map { .string($0) }
        fields["email"] = principal.email.map { .string($0) }
        fields["client_id"] = principal.clientID.map { .string($0) }
        fields["organization_id"] = principal.organizationID.map { .string($0) }
        let summary = principal.isAnonymous
            ? "You are not authenticated: this server has no token verifier configured."
            : "You are \(principal.email ?? principal.subject)."
        return .structured(.object(fields), text: summary)
    }
}

extension BuiltinTools {
    struct WaitInput: ToolInput {
        var seconds: Double
        static let descriptions = ["seconds": "How long to wait, from 0 to 60 seconds."]
    }

    struct WaitOutput: Codable, Sendable {
        var waited: Double
    }

    /// Waits, reporting progress every second: checks that a client shows progress, and how it
    /// handles timeouts and cancellation. A typed tool: its schemas come from the structs above.
    public static let wait = try! MCPTool(  // the schemas come from the fixed structs above; BuiltinToolsTests checks them
        name: "wait", title: "Wait",
        description: "Waits the given number of seconds (at most 60), reporting progress every second, then says how long it waited.",
        annotations: ToolAnnotations(readOnlyHint: true, idempotentHint: true, openWorldHint: false)
    ) { (input: WaitInput, context) -> WaitOutput in
        guard (0...60).contains(input.seconds) else { throw ToolError("seconds must be between 0 and 60") }
        let start = ContinuousClock.now
        var done = 0.0
        while done < input.seconds {
            let step = min(1, input.seconds - done)
            try await Task.sleep(for: .milliseconds(Int64(step * 1000)))
            done += step
            context.reportProgress(done, total: input.seconds, message: "waited \(Int(done)) of \(Int(input.seconds.rounded(.up))) s")
        }
        return WaitOutput(waited: (ContinuousClock.now - start).inSeconds)
    }
}
