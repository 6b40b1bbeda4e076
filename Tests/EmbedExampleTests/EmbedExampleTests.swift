import EmbedExample
import Foundation
import GatehouseCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The example application: its own route, and Gatehouse's protected MCP endpoint, driven in
/// memory (`.router`) and over a real socket (`.live`).
@Suite("Embedding example")
struct EmbedExampleTests {
    static let token = "example-token"

    private func app() async throws -> some ApplicationProtocol {
        let (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(
                flags: ["port": "0"],
                environment: ["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "\(Self.token):example-client:alice:"]))
        return try await buildApplication(configuration: configuration, logger: Logger(label: "test"))
    }

    private static func call(_ name: String, _ arguments: String, token: String? = Self.token) -> (HTTPFields, ByteBuffer) {
        var headers: HTTPFields = [
            .contentType: "application/json", .accept: "application/json, text/event-stream", .mcpProtocolVersion: "2026-07-28",
            .mcpMethod: "tools/call", .mcpName: name,
        ]
        if let token { headers[.authorization] = "Bearer \(token)" }
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        return (headers, ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(name)","arguments":\#(arguments),\#(meta)}}"#))
    }

    private func exercise(_ client: some TestClientProtocol) async throws {
        try await client.execute(uri: "/", method: .get) { response in
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains("ordinary Hummingbird app"))
        }
        let (anonymous, addBody) = Self.call("add", #"{"a":2,"b":3}"#, token: nil)
        try await client.execute(uri: "/mcp", method: .post, headers: anonymous, body: addBody) { response in
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate]?.contains("/.well-known/oauth-protected-resource/mcp") == true)
        }
        try await client.execute(uri: "/.well-known/oauth-protected-resource/mcp", method: .get) { response in
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains(#""resource":"http://127.0.0.1:"#))
        }
        let (headers, _) = Self.call("add", "{}")
        try await client.execute(uri: "/mcp", method: .post, headers: headers, body: addBody) { response in
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).contains(#""structuredContent":{"result":5}"#))
        }
        let (greetHeaders, greetBody) = Self.call("greet", #"{"name":"Ada","excited":true}"#)
        try await client.execute(uri: "/mcp", method: .post, headers: greetHeaders, body: greetBody) { response in
            let text = String(buffer: response.body)
            #expect(text.contains(#""message":"Hello, Ada!""#), "\(text)")
            #expect(text.contains(#""asked_by":"alice""#))
        }
    }

    @Test func inMemory() async throws {
        try await app().test(.router) { client in try await exercise(client) }
    }

    @Test func overARealSocket() async throws {
        try await app().test(.live) { client in try await exercise(client) }
    }
}
