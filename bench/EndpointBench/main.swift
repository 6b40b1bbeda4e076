// Per-request cost of Gatehouse's MCP endpoint, measured against the MCP Swift SDK's
// `Server` in the same run, in one process with no sockets; and the cost of verifying
// a token (VerificationBench.swift).
//
// Both answer the same `tools/call add {a, b}` from JSON bytes to JSON bytes.
// Gatehouse additionally does its HTTP-level checks (Accept, Content-Type, the
// 2026-07-28 headers and `_meta`, or the session lookup) and validates the arguments
// against the tool's JSON Schema, which the SDK path does not. Run on a release build:
//
//     swift run -c release gatehouse-bench [iterations]
//
// Everything runs in nonisolated functions: top-level code is main-actor isolated,
// and a loop there would measure an executor hop per iteration instead of the work.
import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseSQLite
import HTTPTypes
import Logging
import MCP

/// Runs `body` `count` times after a warm-up and returns nanoseconds per call.
nonisolated func measure(_ count: Int, _ body: (Int) async throws -> Void) async rethrows -> Double {
    for i in 0..<min(count / 10, 2_000) { try await body(i) }
    let start = ContinuousClock.now
    for i in 0..<count { try await body(i) }
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(count)
}

nonisolated func check(_ ok: Bool, _ what: String) {
    if !ok {
        FileHandle.standardError.write(Data("gatehouse-bench: unexpected response from \(what)\n".utf8))
        exit(1)
    }
}

let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#

/// Nanoseconds per request of Gatehouse's endpoint, stateless and in a session, plus a stage breakdown.
nonisolated func measureGatehouse(_ iterations: Int) async -> (stateless: Double, session: Double, stages: [(String, Double)]) {
    let logger = Logger(label: "bench")
    let handler = MCPMethodHandler(serverInfo: MCPServerInfo(name: "bench", version: "1"), tools: ToolRegistry(BuiltinTools.all))
    let endpoint = StreamableHTTPEndpoint(service: handler, sessions: SessionStore(idleTimeout: .seconds(3600), capacity: 10))
    let statelessHeaders: HTTPFields = [
        .contentType: "application/json", .accept: "application/json, text/event-stream",
        .mcpProtocolVersion: "2026-07-28", .mcpMethod: "tools/call", .mcpName: "add",
    ]
    func statelessBody(_ id: Int) -> Data {
        Data(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"add","arguments":{"a":\#(id),"b":1},\#(meta)}}"#.utf8)
    }
    let stateless = await measure(iterations) { i in
        let response = await endpoint.respond(
            to: MCPHTTPRequest(method: .post, headerFields: statelessHeaders, body: statelessBody(i)), logger: logger)
        if i == 0 { check(response.status == .ok && response.body.isLarger(than: 50), "gatehouse stateless") }
    }

    let initialize = await endpoint.respond(
        to: MCPHTTPRequest(
            method: .post, headerFields: [.contentType: "application/json", .accept: "application/json"],
            body: Data(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#.utf8)),
        logger: logger)
    var sessionHeaders = statelessHeaders
    sessionHeaders[.mcpProtocolVersion] = "2025-11-25"
    sessionHeaders[.mcpSessionID] = initialize.headerFields[.mcpSessionID]
    let session = await measure(iterations) { i in
        let body = Data(#"{"jsonrpc":"2.0","id":\#(i),"method":"tools/call","params":{"name":"add","arguments":{"a":\#(i),"b":1}}}"#.utf8)
        let response = await endpoint.respond(
            to: MCPHTTPRequest(method: .post, headerFields: sessionHeaders, body: body), logger: logger)
        if i == 0 { check(response.status == .ok && response.body.isLarger(than: 50), "gatehouse session") }
    }

    // Where the time of one stateless call goes.
    let body = statelessBody(7)
    let request = JSONRPCRequest(id: .number(7), method: "tools/call", params: ["name": "add", "arguments": ["a": 7, "b": 1]])
    let environment = MCPRequestEnvironment(protocolVersion: .v2026_07_28, principal: .anonymous, sessionID: nil, logger: logger)
    let response = await handler.handle(request, in: environment)
    let context = ToolContext(principal: .anonymous, protocolVersion: .v2026_07_28, sessionID: nil, requestID: .number(7), logger: logger)
    let stages = [
        ("decode request JSON", await measure(iterations) { _ in _ = try? JSONBody.decode(body) }),
        ("validate arguments", await measure(iterations) { _ in
            _ = JSONSchemaValidator(schema: BuiltinTools.add.inputSchema).validate(["a": 7, "b": 1])
        }),
        ("run the add handler", await measure(iterations) { _ in
            _ = try? await BuiltinTools.add.handler(ToolArguments(["a": 7, "b": 1]), context)
        }),
        ("handle tools/call (validate + run)", await measure(iterations) { _ in _ = await handler.handle(request, in: environment) }),
        ("encode response JSON", await measure(iterations) { _ in _ = response.encoded() }),
        ("find the caller's hub user (cached, every request)", await measureProvisioning(iterations)),
    ]
    return (stateless, session, stages)
}

/// Nanoseconds per lookup of an already provisioned hub user, the work the provisioning
/// middleware adds to every authenticated request.
nonisolated func measureProvisioning(_ iterations: Int) async -> Double {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-bench-\(UUID().uuidString)/hub.db").path
    guard let store = try? SQLiteStore(path: path) else {
        check(false, "the bench's SQLite store")
        return 0
    }
    let users = UserDirectory(store: store, oauthProvider: "jwt")
    let principal = Principal(subject: "user-1", issuer: "https://issuer.example.com", email: "user@example.com")
    check((try? await users.user(for: principal)) != nil, "hub provisioning")
    return await measure(iterations) { _ in _ = try? await users.user(for: principal) }
}

/// Nanoseconds per request of the SDK's `Server` answering the same call over its in-memory transport.
nonisolated func measureSDKServer(_ iterations: Int) async throws -> Double {
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

nonisolated func report(iterations: Int) async throws -> String {
    let gatehouse = await measureGatehouse(iterations)
    let sdk = try await measureSDKServer(iterations)
    // Cold RSA/EC verification is ~1000x a cached one: fewer iterations keep the run short.
    let verifications = [
        ("RS256", try await measureVerification(try .rs256(), iterations: max(iterations / 20, 100))),
        ("ES256", try await measureVerification(.es256(), iterations: max(iterations / 20, 100))),
    ]
    func microseconds(_ ns: Double) -> String { String(format: "%.1f", ns / 1000) }
    func row(_ name: String, _ ns: Double) -> String {
        "| \(name) | \(microseconds(ns)) | \(String(format: "%.0f", 1e9 / ns)) | \(String(format: "%.2f", sdk / ns)) |"
    }
    return """
        tools/call add, \(iterations) sequential requests per row, one task (\(ProcessInfo.processInfo.activeProcessorCount) cores)

        | path | µs/request | requests/s | speed vs swift-sdk Server |
        |---|---|---|---|
        \(row("gatehouse endpoint, 2026-07-28 stateless", gatehouse.stateless))
        \(row("gatehouse endpoint, 2025-11-25 session", gatehouse.session))
        \(row("swift-sdk 0.12.1 Server over InMemoryTransport", sdk))

        | stage of one stateless call | µs |
        |---|---|
        \(gatehouse.stages.map { "| \($0.0) | \(microseconds($0.1)) |" }.joined(separator: "\n"))

        | token verification (JWTVerifier) | cold µs (new token) | cached µs (same token) |
        |---|---|---|
        \(verifications.map { "| \($0.0) | \(microseconds($0.1.cold)) | \(microseconds($0.1.cached)) |" }.joined(separator: "\n"))
        """
}

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 100_000
print(try await report(iterations: iterations))

extension MCPHTTPResponse.Body {
    /// True for a whole body of more than `count` bytes (the bench's sanity check).
    func isLarger(than count: Int) -> Bool {
        if case .bytes(let data) = self { return data.count > count }
        return false
    }
}
