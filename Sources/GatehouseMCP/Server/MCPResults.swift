import Foundation
import GatehouseCore
import MCP

/// A JSON-RPC `result` that writes itself as JSON.
public protocol JSONRPCResult: Sendable {
    func writeJSON(into writer: inout JSONWriter)
    /// True for a `tools/call` result whose tool reported an error (`isError`).
    var reportsToolError: Bool { get }
}

extension JSONRPCResult {
    public var reportsToolError: Bool { false }
}

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

/// The members of one method's result object.
protocol ResultBody: Sendable {
    /// Writes the members (no braces); returns false when there were none.
    func writeMembers(into writer: inout JSONWriter) -> Bool
    /// The stateless `resultType` (2026-07-28): `complete` unless the body says otherwise.
    var resultType: String { get }
}

extension ResultBody {
    var resultType: String { "complete" }
}

/// A method's own members followed by the stateless fields, when there are any.
struct MethodResult<Body: ResultBody>: JSONRPCResult {
    var body: Body
    var stateless: StatelessResultFields?

    func writeJSON(into writer: inout JSONWriter) {
        writer.raw("{")
        let wroteBody = body.writeMembers(into: &writer)
        if let stateless {
            writer.key("resultType", first: !wroteBody)
            writer.string(body.resultType)
            if let hint = stateless.cacheHint {
                writer.key("ttlMs")
                writer.int(hint.ttlMs)
                writer.key("cacheScope")
                writer.string(hint.scope)
            }
            writer.key("_meta")
            writer.raw(#"{"io.modelcontextprotocol/serverInfo":"#)
            stateless.serverInfo.write(into: &writer)
            writer.raw("}")
        }
        writer.raw("}")
    }
}

struct EmptyBody: ResultBody {
    func writeMembers(into writer: inout JSONWriter) -> Bool { false }
}

struct InitializeBody: ResultBody {
    var protocolVersion: String
    var capabilities: JSONValue
    var serverInfo: MCPServerInfo
    var instructions: String?

    func writeMembers(into writer: inout JSONWriter) -> Bool {
        writer.key("protocolVersion", first: true)
        writer.string(protocolVersion)
        writer.key("capabilities")
        writer.value(capabilities)
        writer.key("serverInfo")
        serverInfo.write(into: &writer)
        if let instructions {
            writer.key("instructions")
            writer.string(instructions)
        }
        return true
    }
}

struct DiscoverBody: ResultBody {
    var supportedVersions: [String]
    var capabilities: JSONValue
    var instructions: String?

    func writeMembers(into writer: inout JSONWriter) -> Bool {
        writer.key("supportedVersions", first: true)
        writer.value(.array(supportedVersions.map { .string($0) }))
        writer.key("capabilities")
        writer.value(capabilities)
        if let instructions {
            writer.key("instructions")
            writer.string(instructions)
        }
        return true
    }
}

/// `tools/list`: descriptors were encoded once, when the tools were registered.
struct ToolsListBody: ResultBody {
    var descriptors: [[UInt8]]

    func writeMembers(into writer: inout JSONWriter) -> Bool {
        writer.key("tools", first: true)
        writer.raw("[")
        for (index, descriptor) in descriptors.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw(descriptor)
        }
        writer.raw("]")
        return true
    }
}

struct CallToolBody: ResultBody {
    var result: ToolResult

    func writeMembers(into writer: inout JSONWriter) -> Bool {
        writer.key("content", first: true)
        writer.raw("[")
        for (index, block) in result.content.enumerated() {
            if index > 0 { writer.raw(",") }
            Self.write(block, into: &writer)
        }
        writer.raw("]")
        if let structured = result.structuredContent {
            writer.key("structuredContent")
            writer.value(structured)
        }
        writer.key("isError")
        writer.bool(result.isError)
        return true
    }

    /// Text blocks, nearly all of them, are written directly; other kinds use the SDK's encoding.
    private static func write(_ block: ToolContent, into writer: inout JSONWriter) {
        if case .text(let text, nil, nil) = block {
            writer.raw(#"{"type":"text","text":"#)
            writer.string(text)
            writer.raw("}")
        } else if let encoded = try? JSONEncoder.jsonRPC.encode(block) {
            writer.raw(encoded)
        } else {
            writer.raw("null")
        }
    }
}

extension MCPServerInfo {
    /// The `serverInfo` object (`instructions` travel beside it, not inside).
    func write(into writer: inout JSONWriter) {
        writer.raw("{")
        writer.key("name", first: true)
        writer.string(name)
        writer.key("version")
        writer.string(version)
        if let title {
            writer.key("title")
            writer.string(title)
        }
        writer.raw("}")
    }
}

/// A `tools/call` that needs the user at a URL first, on 2026-07-28 (basic "Multi Round-Trip
/// Requests"): the embedded `elicitation/create` in URL mode, for the client to present before it
/// retries the call. No `requestState`: the retried call checks again whether the user is done.
struct InputRequiredBody: ResultBody {
    var elicitation: URLElicitationRequired

    var resultType: String { "input_required" }

    func writeMembers(into writer: inout JSONWriter) -> Bool {
        writer.key("inputRequests", first: true)
        let request: JSONValue = [
            "method": "elicitation/create",
            "params": ["mode": "url", "message": .string(elicitation.message), "url": .string(elicitation.url)],
        ]
        writer.value(.object([elicitation.elicitationID: request]))
        return true
    }
}
