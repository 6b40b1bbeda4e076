import GatehouseCore
import MCP

/// Fields every stateless (2026-07-28) result carries.
///
/// basic "Results" (2026-07-28): the result MUST include `resultType`; servers SHOULD
/// put `io.modelcontextprotocol/serverInfo` in the result's `_meta`.
/// server/utilities/caching (2026-07-28): `server/discover` and list results with
/// `resultType: "complete"` MUST carry `ttlMs` and `cacheScope`.
struct StatelessResultFields: Sendable {
    var serverInfo: MCPServerInfo
    /// Present only on cacheable results.
    var cacheHint: CacheHint?

    struct CacheHint: Sendable {
        var ttlMs: Int
        var scope: String
    }
}

/// Encodes a method's own fields followed by the stateless fields, when there are any.
struct MethodResult<Body: Encodable & Sendable>: Encodable, Sendable {
    var body: Body
    var stateless: StatelessResultFields?

    private enum CodingKeys: String, CodingKey { case resultType, ttlMs, cacheScope, _meta }
    private enum MetaKeys: String, CodingKey { case serverInfo = "io.modelcontextprotocol/serverInfo" }

    func encode(to encoder: any Encoder) throws {
        try body.encode(to: encoder)
        guard let stateless else { return }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("complete", forKey: .resultType)
        if let hint = stateless.cacheHint {
            try container.encode(hint.ttlMs, forKey: .ttlMs)
            try container.encode(hint.scope, forKey: .cacheScope)
        }
        var meta = container.nestedContainer(keyedBy: MetaKeys.self, forKey: ._meta)
        try meta.encode(stateless.serverInfo, forKey: .serverInfo)
    }
}

struct EmptyBody: Encodable, Sendable {}

struct InitializeBody: Encodable, Sendable {
    var protocolVersion: String
    var capabilities: JSONValue
    var serverInfo: MCPServerInfo
    var instructions: String?
}

struct DiscoverBody: Encodable, Sendable {
    var supportedVersions: [String]
    var capabilities: JSONValue
    var instructions: String?
}

struct ToolsListBody: Encodable, Sendable {
    var tools: [MCP.Tool]
}

struct CallToolBody: Encodable, Sendable {
    var content: [ToolContent]
    var structuredContent: JSONValue?
    var isError: Bool

    init(_ result: ToolResult) {
        content = result.content
        structuredContent = result.structuredContent
        isError = result.isError
    }
}
