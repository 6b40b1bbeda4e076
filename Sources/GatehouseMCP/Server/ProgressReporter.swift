import GatehouseCore

/// Sends `notifications/progress` for one request whose client asked for progress (a
/// `progressToken` in the request's `_meta`, MCP basic utilities "Progress").
public struct ProgressReporter: Sendable {
    let token: JSONValue
    let send: @Sendable (JSONValue) -> Void

    /// The token of `params._meta.progressToken`, when it is a string or an integer as the
    /// specification requires.
    static func token(of params: [String: JSONValue]) -> JSONValue? {
        switch params["_meta"]?.objectValue?["progressToken"] {
        case .string(let token)?: .string(token)
        case .int(let token)?: .int(token)
        default: nil
        }
    }

    /// Reports `progress` (increasing with each call), out of `total` when known.
    public func report(_ progress: Double, total: Double? = nil, message: String? = nil) {
        var params: [String: JSONValue] = ["progressToken": token, "progress": .double(progress)]
        if let total { params["total"] = .double(total) }
        if let message { params["message"] = .string(message) }
        send(["jsonrpc": "2.0", "method": "notifications/progress", "params": .object(params)])
    }
}
