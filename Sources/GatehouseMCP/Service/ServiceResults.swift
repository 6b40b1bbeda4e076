import GatehouseCore

/// Results for services other than ``MCPMethodHandler`` (a gateway), in the shape each protocol
/// revision requires.
public enum ServiceResults {
    /// The `initialize` result.
    public static func initialize(version: ProtocolVersion, capabilities: JSONValue, serverInfo: MCPServerInfo) -> any JSONRPCResult {
        MethodResult(
            body: InitializeBody(
                protocolVersion: version.rawValue, capabilities: capabilities, serverInfo: serverInfo,
                instructions: serverInfo.instructions),
            stateless: nil)
    }

    /// The `server/discover` result (2026-07-28), with its cache hint.
    public static func discover(capabilities: JSONValue, serverInfo: MCPServerInfo) -> any JSONRPCResult {
        let body = DiscoverBody(
            supportedVersions: ProtocolVersion.stateless.map(\.rawValue), capabilities: capabilities,
            instructions: serverInfo.instructions)
        return MethodResult(body: body, stateless: StatelessResultFields(serverInfo: serverInfo).cacheable())
    }

    /// An empty result (`ping`, `logging/setLevel`).
    public static func empty(version: ProtocolVersion, serverInfo: MCPServerInfo) -> any JSONRPCResult {
        MethodResult(body: EmptyBody(), stateless: version.isSessionEra ? nil : StatelessResultFields(serverInfo: serverInfo))
    }

    /// A result built elsewhere (an upstream's). For a stateless request it gets the fields basic
    /// "Results" (2026-07-28) requires: `resultType` (kept when present, e.g. `input_required`),
    /// this server's info in `_meta`, and on lists `ttlMs` and `cacheScope`. For a session it
    /// loses those fields, which an upstream of the other era may have added.
    public static func forwarded(
        _ result: JSONValue, version: ProtocolVersion, serverInfo: MCPServerInfo, isList: Bool = false
    ) -> any JSONRPCResult {
        guard case .object(var object) = result else { return ForwardedResult(value: result) }
        if version.isSessionEra {
            for key in ["resultType", "ttlMs", "cacheScope"] { object[key] = nil }
            return ForwardedResult(value: .object(object.withoutProtocolMeta()))
        }
        if object["resultType"] == nil { object["resultType"] = "complete" }
        if isList, object["resultType"] == "complete" {
            if object["ttlMs"] == nil { object["ttlMs"] = .int(0) }
            if object["cacheScope"] == nil { object["cacheScope"] = "private" }
        }
        var meta = object["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/serverInfo"] = serverInfo.json
        object["_meta"] = .object(meta)
        return ForwardedResult(value: .object(object))
    }
}

extension [String: JSONValue] {
    /// These params or this result without the protocol's own `_meta` members (`io.modelcontextprotocol/…`:
    /// the 2026-07-28 envelope and server info), which a session-era peer must not get; `_meta` goes when
    /// nothing else is in it.
    public func withoutProtocolMeta() -> [String: JSONValue] {
        guard case .object(var meta)? = self["_meta"], meta.keys.contains(where: { $0.hasPrefix("io.modelcontextprotocol/") }) else {
            return self
        }
        for key in meta.keys where key.hasPrefix("io.modelcontextprotocol/") { meta[key] = nil }
        var object = self
        object["_meta"] = meta.isEmpty ? nil : .object(meta)
        return object
    }
}

/// A result written from a JSON value.
struct ForwardedResult: JSONRPCResult {
    let value: JSONValue

    func writeJSON(into writer: inout JSONWriter) {
        writer.value(value)
    }

    var reportsToolError: Bool { value.objectValue?["isError"] == .bool(true) }
}

extension MCPServerInfo {
    var json: JSONValue {
        var info: [String: JSONValue] = ["name": .string(name), "version": .string(version)]
        if let title { info["title"] = .string(title) }
        return .object(info)
    }
}
