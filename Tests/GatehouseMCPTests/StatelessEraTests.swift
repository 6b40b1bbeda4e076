import GatehouseMCP
import HTTPTypes
import Testing

@Suite("Streamable HTTP, 2026-07-28 stateless requests")
struct StatelessEraTests {
    let harness = EndpointHarness()

    @Test func discoverAnswersWithVersionsCapabilitiesAndCacheHints() async throws {
        let reply = await harness.stateless("server/discover")
        #expect(reply.status == .ok)
        #expect(reply.headers[.contentType] == "application/json")
        #expect(reply.headers[.mcpSessionID] == nil)
        let result = try #require(reply.result)
        #expect(result["supportedVersions"] == ["2026-07-28"])
        #expect(result["resultType"] == "complete")
        #expect(result["ttlMs"] == 0)
        #expect(result["cacheScope"] == "private")
        #expect(result["capabilities"]?.objectValue?["tools"] != nil)
        #expect(result["_meta"]?.objectValue?["io.modelcontextprotocol/serverInfo"]?.objectValue?["name"] == "test")
    }

    @Test func toolsListCarriesResultTypeAndCacheHints() async throws {
        let result = try #require(await harness.stateless("tools/list").result)
        #expect(result["tools"]?.arrayValue?.compactMap { $0.objectValue?["name"]?.stringValue } == ["echo", "add", "whoami", "wait"])
        #expect(result["resultType"] == "complete")
        #expect(result["ttlMs"] == 0)
        #expect(result["cacheScope"] == "private")
    }

    @Test func toolsCallAdds() async throws {
        let reply = await harness.stateless("tools/call", params: #""name":"add","arguments":{"a":2,"b":3}"#, name: "add")
        let result = try #require(reply.result)
        #expect(result["isError"] == false)
        #expect(result["structuredContent"] == ["result": 5])
        #expect(result["content"]?.arrayValue?.first?.objectValue?["text"] == "5")
        #expect(result["resultType"] == "complete")
    }

    @Test func invalidArgumentsAreAToolExecutionError() async throws {
        let reply = await harness.stateless("tools/call", params: #""name":"add","arguments":{"a":"two"}"#, name: "add")
        #expect(reply.status == .ok)
        let result = try #require(reply.result)
        #expect(result["isError"] == true)
        let text = result["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue ?? ""
        #expect(text.contains("/a: expected a number, got string"))
        #expect(text.contains("missing required property \"b\""))
    }

    @Test func unknownToolIsInvalidParams() async {
        let reply = await harness.stateless("tools/call", params: #""name":"nope""#, name: "nope")
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32602)
        #expect(reply.errorMessage == "Unknown tool: nope")
        #expect(reply.id == 1)
    }

    @Test(arguments: ["initialize", "ping", "resources/list", "no/such"])
    func methodsOutsideTheRevisionAre404(method: String) async {
        let reply = await harness.stateless(method)
        #expect(reply.status == .notFound)
        #expect(reply.errorCode == -32601)
    }

    @Test func methodHeaderMustMatchTheBody() async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.mcpMethod: "tools/call"])
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32020)
        #expect(reply.errorMessage?.contains("Mcp-Method header value 'tools/call' does not match body value 'tools/list'") == true)
    }

    @Test func nameHeaderIsRequiredForToolsCall() async {
        let reply = await harness.stateless("tools/call", params: #""name":"add","arguments":{"a":1,"b":2}"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32020)
    }

    @Test func nameHeaderMustMatch() async {
        let reply = await harness.stateless("tools/call", params: #""name":"add","arguments":{"a":1,"b":2}"#, name: "echo")
        #expect(reply.errorCode == -32020)
    }

    @Test func base64EncodedNameHeaderIsDecodedBeforeComparing() async throws {
        let tool = MCPTool(name: "caf.e", description: "", inputSchema: ["type": "object"]) { _, _ in .text("ok") }
        let harness = EndpointHarness(tools: [tool])
        // "caf.e" base64 = Y2FmLmU=
        let reply = await harness.stateless("tools/call", params: #""name":"caf.e""#, name: "=?base64?Y2FmLmU=?=")
        #expect(reply.status == .ok)
        #expect(reply.result?["isError"] == false)
        let bad = await harness.stateless("tools/call", params: #""name":"caf.e""#, name: "=?base64?***?=")
        #expect(bad.errorCode == -32020)
    }

    @Test func repeatedHeaderIsAMismatch() async {
        var headers = EndpointHarness.jsonHeaders
        headers.append(HTTPField(name: .mcpProtocolVersion, value: "2026-07-28"))
        headers.append(HTTPField(name: .mcpProtocolVersion, value: "2026-07-28"))
        headers[.mcpMethod] = "tools/list"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#)
        #expect(reply.errorCode == -32020)
    }

    @Test func missingEnvelopeIsInvalidParamsWith400() async {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2026-07-28"
        headers[.mcpMethod] = "tools/list"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32602)
        #expect(reply.id == 7)
    }

    @Test func envelopeWithoutVersionHeaderIsAHeaderMismatchNotASessionError() async {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpMethod] = "tools/list"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32020)
    }

    @Test func unsupportedVersionListsWhatIsSupported() async throws {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2099-01-01"
        headers[.mcpMethod] = "tools/list"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#)
        #expect(reply.status == .badRequest)
        #expect(reply.errorCode == -32022)
        let data = try #require(reply.json?.objectValue?["error"]?.objectValue?["data"]?.objectValue)
        #expect(data["requested"] == "2099-01-01")
        #expect(data["supported"]?.arrayValue?.contains("2026-07-28") == true)
        #expect(data["supported"]?.arrayValue?.contains("2025-11-25") == true)
    }

    @Test func notificationsAreAccepted() async {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2026-07-28"
        let reply = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}"#)
        #expect(reply.status == .accepted)
        #expect(reply.text.isEmpty)
    }

    @Test func batchesAndResponsesAreRefused() async {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2026-07-28"
        let batch = await harness.send(headers: headers, body: #"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#)
        #expect(batch.status == .badRequest)
        #expect(batch.errorCode == -32600)
        #expect(batch.id == .null)
        let response = await harness.send(headers: headers, body: #"{"jsonrpc":"2.0","id":1,"result":{}}"#)
        #expect(response.status == .badRequest)
    }

    @Test func sessionHeaderIsIgnored() async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.mcpSessionID: "made-up"])
        #expect(reply.status == .ok)
        #expect(reply.headers[.mcpSessionID] == nil)
    }

    @Test(arguments: [HTTPRequest.Method.get, .delete])
    func getAndDeleteAre405(method: HTTPRequest.Method) async {
        let reply = await harness.send(method, headers: [.mcpProtocolVersion: "2026-07-28", .accept: "text/event-stream"])
        #expect(reply.status == .methodNotAllowed)
        #expect(reply.headers[.allow] == "POST")
    }

    @Test func eventStreamOnlyClientsGetAnSSEFrame() async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.accept: "text/event-stream"])
        #expect(reply.status == .ok)
        #expect(reply.headers[.contentType] == "text/event-stream")
        #expect(reply.text.hasPrefix("event: message\ndata: {"))
        #expect(reply.text.hasSuffix("}\n\n"))
        #expect(reply.text.contains(#""tools":["#))
    }
}

@Suite("Accept header")
struct AcceptHeaderTests {
    let harness = EndpointHarness()

    @Test(arguments: [
        ("application/json, text/event-stream", "application/json"), ("TEXT/EVENT-STREAM", "text/event-stream"),
        ("text/event-stream;q=1, application/json;q=0", "text/event-stream"), ("*/*", "application/json"),
        ("application/*;q=0.5", "application/json"), ("text/html, text/*", "text/event-stream"),
        ("application/json;q=0.001", "application/json"),
    ])
    func acceptChoosesTheResponseFormat(accept: String, contentType: String) async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.accept: accept])
        #expect(reply.status == .ok)
        #expect(reply.headers[.contentType] == contentType)
    }

    @Test(arguments: ["application/json; charset=utf-8", "Application/JSON", " application/json "])
    func jsonContentTypesAreRecognised(contentType: String) async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.contentType: contentType])
        #expect(reply.status == .ok)
    }

    @Test(arguments: ["application/jsonx", "application/json-patch+json", "text/json"])
    func otherContentTypesAreRefused(contentType: String) async {
        let reply = await harness.stateless("tools/list", extraHeaders: [.contentType: contentType])
        #expect(reply.status == .unsupportedMediaType)
    }
}
