import GatehouseCore
import GatehouseMCP
import HTTPTypes
import Testing

@Suite("Streamable HTTP, session-era requests (2024-11-05 to 2025-11-25)")
struct SessionEraTests {
    let harness = EndpointHarness()

    @Test(arguments: ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
    func initializeEchoesASupportedVersionAndOpensASession(version: String) async throws {
        let reply = await harness.send(
            body: #"{"jsonrpc":"2.0","id":"init-1","method":"initialize","params":{"protocolVersion":"\#(version)","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        #expect(reply.status == .ok)
        #expect(reply.id == "init-1")
        let result = try #require(reply.result)
        #expect(result["protocolVersion"]?.stringValue == version)
        #expect(result["serverInfo"]?.objectValue?["name"] == "test")
        #expect(result["resultType"] == nil)
        let session = try #require(reply.headers[.mcpSessionID])
        #expect(session.count >= 32)
        #expect(session.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) })
    }

    @Test(arguments: ["2026-07-28", "1999-01-01", "banana"])
    func initializeCounterOffersTheNewestSessionEraVersion(requested: String) async throws {
        let reply = await harness.send(
            body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"\#(requested)","capabilities":{}}}"#)
        #expect(reply.result?["protocolVersion"] == "2025-11-25")
    }

    @Test func initializeWithoutVersionIsInvalidParams() async {
        let reply = await harness.send(body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
        #expect(reply.errorCode == -32602)
        #expect(reply.headers[.mcpSessionID] == nil)
    }

    @Test func fullLifecycle() async throws {
        let session = await harness.initialize()
        let initialized = await harness.inSession(session, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, version: "2025-11-25")
        #expect(initialized.status == .accepted)
        #expect(initialized.text.isEmpty)
        let ping = await harness.inSession(session, #"{"jsonrpc":"2.0","id":2,"method":"ping"}"#, version: "2025-11-25")
        #expect(ping.result == [:])
        let list = await harness.inSession(session, #"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#, version: "2025-11-25")
        #expect(list.result?["tools"]?.arrayValue?.count == 4)
        #expect(list.result?["ttlMs"] == nil)
        let call = await harness.inSession(
            session, #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"data:,hello ünïcode"}}}"#)
        #expect(call.result?["content"]?.arrayValue?.first?.objectValue?["text"] == "data:,hello ünïcode")
        let delete = await harness.inSession(session, "", method: .delete)
        #expect(delete.status == .noContent)
        let after = await harness.inSession(session, #"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#)
        #expect(after.status == .notFound)
        #expect(after.errorCode == -32600)
        let secondDelete = await harness.inSession(session, "", method: .delete)
        #expect(secondDelete.status == .notFound)
    }

    @Test func sessionRequestWithoutSessionIs400() async {
        // A client that speaks sessions sends the version header after initialize: no session id is an error.
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2025-11-25"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32600)
        #expect(reply.errorMessage?.contains("Mcp-Session-Id") == true)
    }

    @Test func aRequestNamingNoSessionAndNoVersionIsAnsweredOnce() async {
        // The guides' plain curl: no initialize, no headers beyond Content-Type.
        let reply = await harness.send(headers: [.contentType: "application/json"], body: #"{"jsonrpc":"2.0","method":"tools/list","id":1}"#)
        #expect(reply.status == .ok)
        #expect(reply.result?["tools"]?.arrayValue?.isEmpty == false)
        #expect(reply.headers[.mcpSessionID] == nil)
        let call = await harness.send(body: #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#)
        #expect(call.result?["content"]?.arrayValue?.first?.objectValue?["text"] == "5")
        // A batch still needs a session (it is a 2025-03-26 session feature).
        let batch = await harness.send(body: #"[{"jsonrpc":"2.0","id":3,"method":"tools/list"}]"#)
        #expect(batch.status == .badRequest)
    }

    @Test func unknownSessionIs404() async {
        let reply = await harness.inSession("not-a-session", #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(reply.status == .notFound)
    }

    @Test func versionHeaderMustMatchTheSession() async {
        let session = await harness.initialize("2025-06-18")
        let reply = await harness.inSession(session, #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, version: "2025-11-25")
        #expect(reply.status == .badRequest)
        let ok = await harness.inSession(session, #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, version: "2025-06-18")
        #expect(ok.status == .ok)
    }

    @Test func methodErrorsTravelWithStatus200() async {
        let session = await harness.initialize()
        let reply = await harness.inSession(session, #"{"jsonrpc":"2.0","id":9,"method":"resources/list"}"#)
        #expect(reply.status == .ok)
        #expect(reply.errorCode == -32601)
        #expect(reply.id == 9)
    }

    @Test func invalidArgumentsBefore2025_11_25AreInvalidParams() async {
        let session = await harness.initialize("2025-06-18")
        let reply = await harness.inSession(
            session, #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#)
        #expect(reply.errorCode == -32602)
        #expect(reply.errorMessage?.contains("missing required property \"b\"") == true)
    }

    @Test func invalidArgumentsFrom2025_11_25AreToolErrors() async {
        let session = await harness.initialize("2025-11-25")
        let reply = await harness.inSession(
            session, #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#)
        #expect(reply.result?["isError"] == true)
    }

    @Test func batchesWorkIn2025_03_26() async throws {
        let session = await harness.initialize("2025-03-26")
        let reply = await harness.inSession(
            session,
            #"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"ping"},{"bad":true}]"#)
        #expect(reply.status == .ok)
        let responses = try #require(reply.json?.arrayValue)
        #expect(responses.count == 3)
        #expect(responses[0].objectValue?["id"] == 1)
        #expect(responses[1].objectValue?["id"] == 2)
        #expect(responses[2].objectValue?["error"]?.objectValue?["code"] == -32600)
    }

    @Test func batchesAreRefusedFrom2025_06_18() async {
        let session = await harness.initialize("2025-06-18")
        let reply = await harness.inSession(session, #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32600)
    }

    @Test func batchOfNotificationsIsAccepted() async {
        let session = await harness.initialize("2025-03-26")
        let reply = await harness.inSession(session, #"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#)
        #expect(reply.status == .accepted)
    }

    @Test func getIs405WithAllow() async {
        let session = await harness.initialize()
        var headers: HTTPFields = [.accept: "text/event-stream"]
        headers[.mcpSessionID] = session
        let reply = await harness.send(.get, headers: headers)
        #expect(reply.status == .methodNotAllowed)
        #expect(reply.headers[.allow] == "POST, DELETE")
    }

    @Test func otherMethodsAre405() async {
        let reply = await harness.send(.put)
        #expect(reply.status == .methodNotAllowed)
        #expect(reply.headers[.allow] == "GET, POST, DELETE")
    }

    @Test func deleteWithoutSessionIs400() async {
        #expect(await harness.send(.delete, headers: [:]).status == .badRequest)
    }
}

@Suite("Streamable HTTP, malformed input")
struct MalformedInputTests {
    let harness = EndpointHarness()

    @Test(arguments: ["text/html", "application/xml, text/plain", "application/json;q=0, text/event-stream;q=0"])
    func unacceptableAcceptIs406(accept: String) async {
        let reply = await harness.send(headers: [.contentType: "application/json", .accept: accept], body: "{}")
        #expect(reply.status == .notAcceptable)
    }

    @Test func wrongContentTypeIs415() async {
        let reply = await harness.send(headers: [.contentType: "text/plain", .accept: "application/json"], body: "{}")
        #expect(reply.status == .unsupportedMediaType)
    }

    @Test(arguments: ["{", "", "nul", "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"x\"", "\u{FF}"])
    func malformedJSONIsAParseError(body: String) async {
        let reply = await harness.send(body: body)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32700)
        #expect(reply.id == .null)
    }

    @Test(arguments: [
        #"{"id":1,"method":"tools/list"}"#, #"{"jsonrpc":"1.0","id":1,"method":"x"}"#, #"{"jsonrpc":"2.0","id":1}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#, #"{"jsonrpc":"2.0","id":null,"method":"initialize"}"#,
        #"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, "42", "[]",
    ])
    func nonJSONRPCBodiesAreInvalidRequests(body: String) async {
        let session = await harness.initialize("2025-03-26")
        let reply = await harness.inSession(session, body)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32600)
    }

    @Test func deeplyNestedJSONDoesNotCrash() async {
        let body = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let reply = await harness.send(body: body)
        #expect(reply.status == .badRequest)
    }
}
