import Foundation
import GatehouseCore
import GatehouseMCP
import GatehouseServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("HTTP server assembly")
struct ServerRoutesTests {
    private func app(_ flags: [String: String] = [:]) throws -> some ApplicationProtocol {
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(flags: flags))
        return Application(router: GatehouseServer(configuration: configuration).router())
    }

    private static let discover = #"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
    private static let statelessHeaders: HTTPFields = [
        .contentType: "application/json", .accept: "application/json, text/event-stream",
        .mcpProtocolVersion: "2026-07-28", .mcpMethod: "server/discover",
    ]

    @Test func healthzAnswersOK() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
        }
    }

    @Test(arguments: ["/mcp", "/api/mcp"])
    func mcpIsServedAtTheConfiguredPath(path: String) async throws {
        try await app(["mcpPath": path]).test(.router) { client in
            try await client.execute(uri: path, method: .post, headers: Self.statelessHeaders, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""supportedVersions":["2026-07-28"]"#))
            }
            let other = path == "/mcp" ? "/api/mcp" : "/mcp"
            try await client.execute(uri: other, method: .post, headers: Self.statelessHeaders, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        let big = #"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 3000) + #""}}"#
        try await app(["maxBodyBytes": "2048"]).test(.router) { client in
            try await client.execute(uri: "/mcp", method: .post, headers: Self.statelessHeaders, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("GATEHOUSE_MAX_BODY_BYTES"))
            }
        }
    }

    @Test func oversizedBodiesWithoutContentLengthGet413() async throws {
        let big = String(repeating: "x", count: 3000)
        try await app(["maxBodyBytes": "2048"]).test(.live) { client in
            var headers = Self.statelessHeaders
            headers[.transferEncoding] = "chunked"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
    }

    @Test func disallowedOriginsGet403BeforeTheEndpoint() async throws {
        try await app().test(.router) { client in
            var headers = Self.statelessHeaders
            headers[.origin] = "https://evil.example"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains(#""code":-32600"#))
            }
            headers[.origin] = "http://localhost:6274"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func allowListedOriginsPassWhenPublic() async throws {
        let flags = ["host": "0.0.0.0", "baseURL": "https://mcp.example.com", "allowedOrigins": "https://app.example.com"]
        try await app(flags).test(.router) { client in
            var headers = Self.statelessHeaders
            headers[.origin] = "https://app.example.com"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .ok)
            }
            headers[.origin] = "http://localhost:6274"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: Self.discover)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func sessionLifecycleOverRealSockets() async throws {
        try await app().test(.live) { client in
            let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#
            let headers: HTTPFields = [.contentType: "application/json", .accept: "application/json, text/event-stream"]
            let session = try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: initialize)) { response in
                #expect(response.status == .ok)
                return try #require(response.headers[.mcpSessionID])
            }
            var sessionHeaders = headers
            sessionHeaders[.mcpSessionID] = session
            sessionHeaders[.mcpProtocolVersion] = "2025-11-25"
            let call = #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1.5,"b":2}}}"#
            try await client.execute(uri: "/mcp", method: .post, headers: sessionHeaders, body: ByteBuffer(string: call)) { response in
                #expect(String(buffer: response.body).contains(#""structuredContent":{"result":3.5}"#))
            }
            try await client.execute(uri: "/mcp", method: .delete, headers: sessionHeaders) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/mcp", method: .post, headers: sessionHeaders, body: ByteBuffer(string: call)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func concurrentStatelessCallsWithTheSameIdDoNotCollide() async throws {
        try await app().test(.live) { client in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<50 {
                    group.addTask {
                        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":\#(n),"b":1000},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
                        var headers = Self.statelessHeaders
                        headers[.mcpMethod] = "tools/call"
                        headers[.mcpName] = "add"
                        return try await client.execute(uri: "/mcp", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                            String(buffer: response.body).contains(#""result":\#(n + 1000)}"#)
                        }
                    }
                }
                for try await matched in group { #expect(matched) }
            }
        }
    }
}
