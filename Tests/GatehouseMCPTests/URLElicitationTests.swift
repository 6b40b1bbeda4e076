import GatehouseCore
import GatehouseMCP
import HTTPTypes
import Testing

/// A tool that needs the user at a URL first (``URLElicitationRequired``), asked in the way each
/// client can take: -32042 in a session, `input_required` when stateless, a tool error with the
/// link for a client that declared no URL elicitation or whose user declined.
@Suite("URL elicitation required")
struct URLElicitationTests {
    static let link = "https://hub.example.com/connect?request=abc"
    let harness = EndpointHarness(tools: [
        MCPTool(name: "needs_sign_in", description: "Needs the user at a URL.", inputSchema: ["type": "object"]) { _, _ in
            throw URLElicitationRequired(url: URLElicitationTests.link, message: "Sign in to files.", elicitationID: "e1")
        }
    ])

    static let asks = #"{"elicitation":{"url":{}}}"#

    func stateless(capabilities: String, extra: String = "") async -> Reply {
        var headers = EndpointHarness.jsonHeaders
        headers[.mcpProtocolVersion] = "2026-07-28"
        headers[.mcpMethod] = "tools/call"
        headers[.mcpName] = "needs_sign_in"
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":\#(capabilities)}"#
        return await harness.send(
            headers: headers, body: #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"needs_sign_in","arguments":{}\#(extra),\#(meta)}}"#)
    }

    func inSession(capabilities: String) async -> Reply {
        let initialize = await harness.send(
            body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":\#(capabilities),"clientInfo":{"name":"t","version":"1"}}}"#)
        let session = initialize.headers[.mcpSessionID] ?? ""
        return await harness.inSession(
            session, #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"needs_sign_in","arguments":{}}}"#, version: "2025-11-25")
    }

    static func toolErrorText(_ reply: Reply) -> String? {
        guard reply.result?["isError"] == true else { return nil }
        return reply.result?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue
    }

    @Test func aSessionClientThatDeclaredURLModeGetsMinus32042() async throws {
        let reply = await inSession(capabilities: Self.asks)
        #expect(reply.errorCode == -32042)
        let elicitation = try #require(reply.json?.objectValue?["error"]?.objectValue?["data"]?.objectValue?["elicitations"]?.arrayValue?.first)
        #expect(elicitation == ["mode": "url", "elicitationId": "e1", "url": .string(Self.link), "message": "Sign in to files."])
    }

    @Test func aStatelessClientThatDeclaredURLModeGetsInputRequired() async throws {
        let result = try #require(await stateless(capabilities: Self.asks).result)
        #expect(result["resultType"] == "input_required")
        #expect(result["inputRequests"] == [
            "e1": ["method": "elicitation/create", "params": ["mode": "url", "message": "Sign in to files.", "url": .string(Self.link)]]
        ])
        #expect(result["content"] == nil && result["isError"] == nil)
    }

    @Test func otherwiseTheLinkComesInAToolError() async throws {
        for reply in [
            await inSession(capabilities: "{}"), await stateless(capabilities: #"{"elicitation":{"form":{}}}"#),
            await stateless(capabilities: Self.asks, extra: #","inputResponses":{"e1":{"action":"decline"}}"#),
        ] {
            let text = try #require(Self.toolErrorText(reply), "\(reply.text)")
            #expect(text.contains("Sign in to files.") && text.contains(Self.link))
        }
        // Accepted but still not done: asked again.
        let again = await stateless(capabilities: Self.asks, extra: #","inputResponses":{"e1":{"action":"accept"}}"#)
        #expect(again.result?["resultType"] == "input_required")
    }
}
