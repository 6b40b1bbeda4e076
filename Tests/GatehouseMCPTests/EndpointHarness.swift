import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import HTTPTypes
import Logging

/// Drives a ``StreamableHTTPEndpoint`` with the built-in tools, no socket involved.
struct EndpointHarness {
    let endpoint: StreamableHTTPEndpoint
    static let logger = Logger(label: "test")

    init(tools: [MCPTool] = BuiltinTools.all, sessions: SessionStore = SessionStore(idleTimeout: .seconds(60), capacity: 100)) {
        endpoint = StreamableHTTPEndpoint(
            service: MCPMethodHandler(serverInfo: MCPServerInfo(name: "test", version: "1.0"), tools: ToolRegistry(tools)),
            sessions: sessions)
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json", .accept: "application/json, text/event-stream"]

    func send(_ method: HTTPRequest.Method = .post, headers: HTTPFields = jsonHeaders, body: String = "") async -> Reply {
        let response = await endpoint.respond(
            to: MCPHTTPRequest(method: method, headerFields: headers, body: Data(body.utf8)), logger: Self.logger)
        return Reply(response, body: await response.body.collected())
    }

    /// A 2026-07-28 request with matching headers and `_meta` envelope.
    func stateless(_ method: String, params: String = "", id: Int = 1, extraHeaders: HTTPFields = [:], name: String? = nil) async -> Reply {
        var headers = Self.jsonHeaders
        headers[.mcpProtocolVersion] = "2026-07-28"
        headers[.mcpMethod] = method
        if let name { headers[.mcpName] = name }
        for field in extraHeaders { headers[field.name] = field.value }
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        let separator = params.isEmpty ? "" : ","
        return await send(headers: headers, body: #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":{\#(params)\#(separator)\#(meta)}}"#)
    }

    /// Opens a session at `version` and returns its id.
    func initialize(_ version: String = "2025-11-25") async -> String {
        let reply = await send(
            body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"\#(version)","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        return reply.headers[.mcpSessionID] ?? ""
    }

    /// A session-era request on session `session`.
    func inSession(_ session: String, _ body: String, version: String? = nil, method: HTTPRequest.Method = .post) async -> Reply {
        var headers = Self.jsonHeaders
        headers[.mcpSessionID] = session
        if let version { headers[.mcpProtocolVersion] = version }
        return await send(method, headers: headers, body: body)
    }
}

/// An endpoint response with its JSON body decoded.
struct Reply {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
    let json: JSONValue?

    init(_ response: MCPHTTPResponse, body: Data) {
        status = response.status
        headers = response.headerFields
        text = String(decoding: body, as: UTF8.self)
        json = try? JSONBody.decode(body)
    }

    var result: [String: JSONValue]? { json?.objectValue?["result"]?.objectValue }
    var errorCode: Int? { json?.objectValue?["error"]?.objectValue?["code"]?.intValue }
    var errorMessage: String? { json?.objectValue?["error"]?.objectValue?["message"]?.stringValue }
    var id: JSONValue? { json?.objectValue?["id"] }
}
