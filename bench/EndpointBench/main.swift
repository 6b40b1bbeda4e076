// Per-request cost of Gatehouse's MCP endpoint, measured against the MCP Swift SDK's
// `Server` in the same run, in one process with no sockets.
//
// Both answer the same `tools/call add {a, b}` from the same JSON bytes and produce
// JSON bytes; Gatehouse also does its HTTP-level checks (Accept, Content-Type,
// headers, `_meta`, session lookup) and JSON-Schema-validates the arguments, which
// the SDK path does not. Run on a release build:
//
//     swift run -c release gatehouse-bench [iterations]
import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import HTTPTypes
import Logging
import MCP

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
let logger = Logger(label: "bench")

/// Runs `body` `count` times after a warm-up and returns nanoseconds per call.
func measure(_ count: Int, _ body: (Int) async throws -> Void) async rethrows -> Double {
    for i in 0..<min(count / 10, 2_000) { try await body(i) }
    let start = ContinuousClock.now
    for i in 0..<count { try await body(i) }
    let elapsed = ContinuousClock.now - start
    let (seconds, attoseconds) = elapsed.components
    return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(count)
}

func check(_ ok: Bool, _ what: String) {
    if !ok { FileHandle.standardError.write(Data("bench: unexpected response from \(what)\n".utf8)); exit(1) }
}

// MARK: Gatehouse

let endpoint = StreamableHTTPEndpoint(
    handler: MCPMethodHandler(serverInfo: MCPServerInfo(name: "bench", version: "1"), tools: ToolRegistry(BuiltinTools.all)),
    sessions: SessionStore(idleTimeout: .seconds(3600), capacity: 10))

func statelessCall(_ id: Int) -> MCPHTTPRequest {
    let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"add","arguments":{"a":\#(id),"b":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
    return MCPHTTPRequest(
        method: .post,
        headerFields: [
            .contentType: "application/json", .accept: "application/json, text/event-stream",
            .mcpProtocolVersion: "2026-07-28", .mcpMethod: "tools/call", .mcpName: "add",
        ],
        body: Data(body.utf8))
}

let initialize = await endpoint.respond(
    to: MCPHTTPRequest(
        method: .post, headerFields: [.contentType: "application/json", .accept: "application/json"],
        body: Data(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#.utf8)),
    logger: logger)
let sessionID = initialize.headerFields[.mcpSessionID]!

func sessionCall(_ id: Int) -> MCPHTTPRequest {
    let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"add","arguments":{"a":\#(id),"b":1}}}"#
    return MCPHTTPRequest(
        method: .post,
        headerFields: [
            .contentType: "application/json", .accept: "application/json, text/event-stream",
            .mcpProtocolVersion: "2025-11-25", .mcpSessionID: sessionID,
        ],
        body: Data(body.utf8))
}

let statelessNs = await measure(iterations) { i in
    let response = await endpoint.respond(to: statelessCall(i), logger: logger)
    if i == 0 { check(response.status == .ok && response.body.count > 50, "gatehouse stateless") }
}
let sessionNs = await measure(iterations) { i in
    let response = await endpoint.respond(to: sessionCall(i), logger: logger)
    if i == 0 { check(response.status == .ok && response.body.count > 50, "gatehouse session") }
}

// MARK: MCP Swift SDK Server

/// Per-request nanoseconds of the SDK's `Server` answering the same call over its in-memory transport.
func measureSDKServer() async throws -> Double {
    let server = Server(name: "bench", version: "1", capabilities: .init(tools: .init(listChanged: false)))
    await server.withMethodHandler(CallTool.self) { params in
        let a = params.arguments?["a"]?.doubleValue ?? Double(params.arguments?["a"]?.intValue ?? 0)
        let b = params.arguments?["b"]?.doubleValue ?? Double(params.arguments?["b"]?.intValue ?? 0)
        return CallTool.Result(content: [.text(text: "\(a + b)", annotations: nil, _meta: nil)])
    }
    let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
    try await server.start(transport: serverSide)
    try await clientSide.connect()
    var replies = await clientSide.receive().makeAsyncIterator()
    try await clientSide.send(Data(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#.utf8))
    _ = try await replies.next()
    try await clientSide.send(Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8))

    let nanoseconds = try await measure(iterations) { i in
        try await clientSide.send(Data(#"{"jsonrpc":"2.0","id":\#(i + 1),"method":"tools/call","params":{"name":"add","arguments":{"a":\#(i),"b":1}}}"#.utf8))
        let reply = try await replies.next()
        if i == 0 { check((reply?.count ?? 0) > 30, "swift-sdk Server") }
    }
    await server.stop()
    return nanoseconds
}

let sdkNs = try await measureSDKServer()

// MARK: Report

func row(_ name: String, _ ns: Double) -> String {
    let perSecond = 1e9 / ns
    return "| \(name) | \(String(format: "%.1f", ns / 1000)) | \(String(format: "%.0f", perSecond)) | \(String(format: "%.2f", sdkNs / ns)) |"
}
print("""
    tools/call add, \(iterations) sequential requests per row, one task, \(ProcessInfo.processInfo.activeProcessorCount) cores

    | path | µs/request | requests/s (one task) | speed vs swift-sdk Server |
    |---|---|---|---|
    \(row("gatehouse endpoint, 2026-07-28 stateless", statelessNs))
    \(row("gatehouse endpoint, 2025-11-25 session", sessionNs))
    \(row("swift-sdk 0.12.1 Server over InMemoryTransport", sdkNs))
    """)
