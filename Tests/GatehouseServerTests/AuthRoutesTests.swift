import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseServer
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Authentication on the HTTP server")
struct AuthRoutesTests {
    static let tokens = "alice-token:client-a:alice:mcp:read;bob-token:client-b:bob:mcp:read,notes:write;bare-token:client-c:carol"

    /// A tool only callers with `notes:write` may see and call.
    static let notes = MCPTool(
        name: "write_note", description: "Writes a note.", inputSchema: ["type": "object"], requiredScopes: ["notes:write"]
    ) { _, context in .text("noted for \(context.principal.subject)") }

    private func app(_ environment: [String: String] = [:], flags: [String: String] = [:]) throws -> some ApplicationProtocol {
        var env = ["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": Self.tokens]
        for (key, value) in environment { env[key] = value }
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(flags: flags, environment: env))
        guard case .staticTokens(let tokens) = configuration.auth.provider else { throw TestFailure("no static provider") }
        let authenticator = Authenticator(
            settings: configuration.auth, verifier: StaticTokenVerifier(tokens: tokens), providerMetadata: nil)
        return Application(
            router: GatehouseServer(configuration: configuration, tools: BuiltinTools.all + [Self.notes], authenticator: authenticator)
                .router())
    }

    private static func headers(token: String? = nil, method: String = "tools/list", name: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: "application/json", .accept: "application/json, text/event-stream", .mcpProtocolVersion: "2026-07-28",
            .mcpMethod: method,
        ]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let name { headers[.mcpName] = name }
        return headers
    }

    private static func body(_ method: String, params: String = "") -> ByteBuffer {
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        return ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":{\#(params)\#(params.isEmpty ? "" : ",")\#(meta)}}"#)
    }

    static let metadataURL = "http://127.0.0.1:8884/.well-known/oauth-protected-resource/mcp"

    @Test func noTokenGets401WithMetadataAndScopesButNoError() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/mcp", method: .post, headers: Self.headers(), body: Self.body("tools/list")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Bearer resource_metadata="\#(Self.metadataURL)", scope="notes:write""#)
            }
        }
    }

    @Test func requiredScopesAreWhatA401AsksFor() async throws {
        try await app(["MCP_REQUIRED_SCOPES": "mcp:read"]).test(.router) { client in
            try await client.execute(uri: "/mcp", method: .post, headers: Self.headers(), body: Self.body("tools/list")) { response in
                #expect(response.headers[.wwwAuthenticate]?.hasSuffix(#"scope="mcp:read""#) == true)
            }
        }
    }

    @Test func badTokenGets401InvalidToken() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "wrong"), body: Self.body("tools/list")
            ) { response in
                #expect(response.status == .unauthorized)
                let challenge = try #require(response.headers[.wwwAuthenticate])
                #expect(challenge.hasPrefix(#"Bearer error="invalid_token", error_description="unknown token", resource_metadata=""#))
                #expect(String(buffer: response.body).contains(#""error":"invalid_token""#))
            }
        }
    }

    @Test func tokenInTheQueryStringIsRefused() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/mcp?access_token=alice-token", method: .post, headers: Self.headers(), body: Self.body("tools/list")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"error="invalid_request""#) == true)
            }
        }
    }

    @Test(arguments: ["Basic YWxpY2U6cHc=", "Bearer", "Bearer two words", "Bearer tök"])
    func malformedAuthorizationIsInvalidRequest(value: String) async throws {
        try await app().test(.router) { client in
            var headers = Self.headers()
            headers[.authorization] = value
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: Self.body("tools/list")) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func validTokenReachesToolsWithItsPrincipal() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "alice-token", method: "tools/call", name: "whoami"),
                body: Self.body("tools/call", params: #""name":"whoami""#)
            ) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#""subject":"alice""#))
                #expect(text.contains(#""client_id":"client-a""#))
                #expect(text.contains(#""authenticated":true"#))
            }
        }
    }

    @Test func missingRequiredScopesGet403() async throws {
        try await app(["MCP_REQUIRED_SCOPES": "mcp:read"]).test(.router) { client in
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "bare-token"), body: Self.body("tools/list")
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"error="insufficient_scope""#) == true)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"scope="mcp:read""#) == true)
            }
        }
    }

    @Test func toolsListShowsOnlyCallableTools() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "alice-token"), body: Self.body("tools/list")
            ) { response in
                #expect(!String(buffer: response.body).contains("write_note"))
            }
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "bob-token"), body: Self.body("tools/list")
            ) { response in
                #expect(String(buffer: response.body).contains("write_note"))
            }
        }
    }

    @Test func callingAToolWithoutItsScopeIsAStepUpChallenge() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "alice-token", method: "tools/call", name: "write_note"),
                body: Self.body("tools/call", params: #""name":"write_note""#)
            ) { response in
                #expect(response.status == .forbidden)
                let challenge = try #require(response.headers[.wwwAuthenticate])
                #expect(challenge.hasPrefix(#"Bearer error="insufficient_scope""#))
                #expect(challenge.contains(#"scope="mcp:read notes:write""#))
                #expect(challenge.contains(#"resource_metadata="\#(Self.metadataURL)""#))
            }
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.headers(token: "bob-token", method: "tools/call", name: "write_note"),
                body: Self.body("tools/call", params: #""name":"write_note""#)
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("noted for bob"))
            }
        }
    }

    @Test func anotherUsersTokenCannotUseASession() async throws {
        try await app().test(.router) { client in
            var headers: HTTPFields = [.contentType: "application/json", .accept: "application/json", .authorization: "Bearer alice-token"]
            let initialize = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#)
            let session = try await client.execute(uri: "/mcp", method: .post, headers: headers, body: initialize) { response in
                try #require(response.headers[.mcpSessionID])
            }
            headers[.mcpSessionID] = session
            let list = ByteBuffer(string: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: list) { response in
                #expect(response.status == .ok)
            }
            headers[.authorization] = "Bearer bob-token"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: list) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/mcp", method: .delete, headers: headers) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test(arguments: ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"])
    func protectedResourceMetadataNamesTheEndpoint(path: String) async throws {
        try await app(["MCP_REQUIRED_SCOPES": "mcp:read", "MCP_AUTHORIZATION_SERVER": "https://auth.example.com"]).test(.router) { client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .ok)
                let json = try JSONValue.parse(Data(buffer: response.body))
                #expect(json.objectValue?["resource"] == "http://127.0.0.1:8884/mcp")
                #expect(json.objectValue?["authorization_servers"] == ["https://auth.example.com"])
                #expect(json.objectValue?["scopes_supported"] == ["mcp:read", "notes:write"])
                #expect(json.objectValue?["bearer_methods_supported"] == ["header"])
                #expect(json.objectValue?["resource_name"] == "Gatehouse")
            }
        }
    }

    @Test func metadataFollowsTheConfiguredBaseURLAndPath() async throws {
        let flags = ["baseURL": "https://mcp.example.com", "mcpPath": "/api/mcp", "host": "0.0.0.0"]
        try await app(["GATEHOUSE_ALLOW_STATIC_TOKENS_REMOTELY": "true"], flags: flags).test(.router) { client in
            try await client.execute(uri: "/.well-known/oauth-protected-resource/api/mcp", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""resource":"https://mcp.example.com/api/mcp""#))
            }
            try await client.execute(uri: "/api/mcp", method: .post, headers: Self.headers(), body: Self.body("tools/list")) { response in
                #expect(response.headers[.wwwAuthenticate]?.contains(
                    #"resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp""#) == true)
            }
        }
    }

    @Test func forwardedHeadersCountOnlyWhenTrusted() async throws {
        var forwarded: HTTPFields = [:]
        forwarded[HTTPField.Name("X-Forwarded-Host")!] = "public.example.com"
        forwarded[HTTPField.Name("X-Forwarded-Proto")!] = "https"
        let headers = forwarded
        try await app().test(.router) { client in
            try await client.execute(uri: "/.well-known/oauth-protected-resource/mcp", method: .get, headers: headers) { response in
                #expect(String(buffer: response.body).contains(#""resource":"http://127.0.0.1:8884/mcp""#))
            }
        }
        try await app(["GATEHOUSE_TRUST_FORWARDED_HEADERS": "true"]).test(.router) { client in
            try await client.execute(uri: "/.well-known/oauth-protected-resource/mcp", method: .get, headers: headers) { response in
                #expect(String(buffer: response.body).contains(#""resource":"https://public.example.com/mcp""#))
            }
        }
    }

    @Test func preflightIsAnsweredBeforeAuthentication() async throws {
        try await app().test(.router) { client in
            let preflight: HTTPFields = [
                .origin: "http://localhost:6274", .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "authorization, content-type, mcp-protocol-version",
            ]
            try await client.execute(uri: "/mcp", method: .options, headers: preflight) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "http://localhost:6274")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Mcp-Session-Id") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            var evil = preflight
            evil[.origin] = "https://evil.example"
            try await client.execute(uri: "/mcp", method: .options, headers: evil) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
            try await client.execute(uri: "/.well-known/oauth-protected-resource/mcp", method: .options, headers: evil) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }

    @Test func challengesExposeTheirHeadersToBrowsers() async throws {
        try await app().test(.router) { client in
            var headers = Self.headers()
            headers[.origin] = "http://localhost:6274"
            try await client.execute(uri: "/mcp", method: .post, headers: headers, body: Self.body("tools/list")) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "http://localhost:6274")
                #expect(response.headers[.accessControlExposeHeaders]?.contains("WWW-Authenticate") == true)
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
