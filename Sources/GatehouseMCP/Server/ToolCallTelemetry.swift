import GatehouseCore

/// Records a finished `tools/call` (the hub's and the gateway's alike) in the metrics and the
/// audit log: who called which tool, the outcome and how long it took; the arguments only when
/// the operator asked for them (``AuditLog/recordsToolArguments``).
public enum ToolCallTelemetry {
    /// - Parameters:
    ///   - tool: the tool that was found; `nil` (recorded as `unknown`) when none was, so a
    ///     caller's made-up names never become labels.
    ///   - outcome: `ok`, `error`, `insufficient_scope` or `refused`.
    ///   - params: the request's params, whose `arguments` the audit log may carry.
    public static func record(tool: String?, outcome: String, principal: Principal, duration: Duration, params: [String: JSONValue]) {
        let name = tool ?? "unknown"
        GatehouseMetrics.toolCall(tool: name, outcome: outcome, duration: duration)
        AuditLog.record(
            .toolCalled,
            [
                "tool": .string(name), "outcome": .string(outcome), "sub": .audit(principal.isAnonymous ? nil : principal.subject),
                "iss": .audit(principal.issuer), "client_id": .audit(principal.clientID),
                "duration_ms": .double(Double(duration.inNanoseconds) / 1_000_000),
                "arguments": AuditLog.recordsToolArguments ? .some(params["arguments"] ?? .object([:])) : .none,
            ])
    }
}
