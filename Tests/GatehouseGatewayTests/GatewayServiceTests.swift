import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseMCP
import GatehouseServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import GatehouseGateway

/// The gateway against a real upstream: a Gatehouse server without authentication, listening on
/// a loopback port for the length of each test.
@Suite struct GatewayServiceTests {
    static let logger = Logger(label: "gateway-test")

    /// Runs `body` with the URL of a live upstream serving the built-in tools.
    func withUpstream(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let upstream = GatehouseServer(configuration: GatehouseConfiguration(), tools: BuiltinTools.all)
        let app = Application(router: upstream.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(try #require(client.port))/mcp")
        }
    }

    func environment(_ principal: Principal, version: ProtocolVersion = .v2025_11_25) -> MCPRequestEnvironment {
        MCPRequestEnvironment(protocolVersion: version, principal: principal, sessionID: nil, logger: Self.logger)
    }

    func json(_ response: JSONRPCResponse) throws -> [String: JSONValue] {
        try #require(try JSONValue.parse(response.encoded()).objectValue)
    }

    func toolNames(_ gateway: GatewayService, _ principal: Principal) async throws -> [String] {
        let listed = try json(await gateway.handle(JSONRPCRequest(id: 1, method: "tools/list"), in: environment(principal)))
        return (listed["result"]?.objectValue?["tools"]?.arrayValue ?? []).compactMap { $0.objectValue?["name"]?.stringValue }
    }

    @Test func toolsOfTwoUpstreamsAreJoinedAndCalledByTheirNames() async throws {
        try await withUpstream { url in
            var main = UpstreamSpec(name: "main", transport: .streamableHTTP(url: url))
            main.transparent = true
            let gateway = GatewayService(
                upstreams: [UpstreamSpec(name: "hub", transport: .streamableHTTP(url: url), protocolChoice: .session), main],
                serverInfo: .gateway(upstreams: ["hub", "main"]), minter: nil, logger: Self.logger)
            defer { Task { await gateway.shutdown() } }
            let names = try await toolNames(gateway, .anonymous)
            #expect(names.contains("hub_echo") && names.contains("echo") && names.contains("hub_add"))
            for name in ["hub_echo", "echo"] {
                let call = JSONRPCRequest(id: 2, method: "tools/call", params: ["name": .string(name), "arguments": ["text": "hi"]])
                let result = try json(await gateway.handle(call, in: environment(.anonymous)))
                #expect(result["result"]?.objectValue?["content"]?.arrayValue?.first?.objectValue?["text"] == "hi")
            }
            // Stateless callers get the 2026-07-28 result fields.
            let stateless = try json(
                await gateway.handle(
                    JSONRPCRequest(id: 3, method: "tools/call", params: ["name": "hub_echo", "arguments": ["text": "x"]]),
                    in: environment(.anonymous, version: .v2026_07_28)))
            #expect(stateless["result"]?.objectValue?["resultType"] == "complete")
            let unknown = try json(
                await gateway.handle(JSONRPCRequest(id: 4, method: "tools/call", params: ["name": "hub_nothing"]), in: environment(.anonymous)))
            #expect(unknown["error"]?.objectValue?["code"] == .int(JSONRPCError.invalidParamsCode))
        }
    }

    @Test func policyHidesWhatACallerCannotCallAndAsksForScopes() async throws {
        try await withUpstream { url in
            let spec = UpstreamSpec(
                name: "hub", transport: .streamableHTTP(url: url),
                toolAccess: ["add": AccessRule(requiredScopes: ["math"]), "whoami": AccessRule(users: ["carol"])])
            let gateway = GatewayService(upstreams: [spec], serverInfo: .gateway(upstreams: ["hub"]), minter: nil, logger: Self.logger)
            defer { Task { await gateway.shutdown() } }
            let alice = Principal(subject: "alice", scopes: ["read"])
            let names = try await toolNames(gateway, alice)
            #expect(names.contains("hub_echo"))
            #expect(!names.contains("hub_add") && !names.contains("hub_whoami"))
            #expect(try await toolNames(gateway, Principal(subject: "carol", scopes: ["math"])).contains("hub_whoami"))
            let add = await gateway.handle(
                JSONRPCRequest(id: 1, method: "tools/call", params: ["name": "hub_add", "arguments": ["a": 1, "b": 2]]), in: environment(alice))
            #expect(add.insufficientScopes == ["math", "read"])
            let whoami = try json(await gateway.handle(JSONRPCRequest(id: 2, method: "tools/call", params: ["name": "hub_whoami"]), in: environment(alice)))
            #expect(whoami["error"]?.objectValue?["message"] == "Unknown tool: hub_whoami")
        }
    }

    @Test func aDeadUpstreamFailsPromptlyAndLeavesTheList() async throws {
        try await withUpstream { url in
            let gateway = GatewayService(
                upstreams: [
                    UpstreamSpec(name: "hub", transport: .streamableHTTP(url: url)),
                    UpstreamSpec(name: "dead", transport: .streamableHTTP(url: "http://127.0.0.1:1/mcp"), timeout: .seconds(5)),
                ], serverInfo: .gateway(upstreams: ["hub", "dead"]), minter: nil, logger: Self.logger)
            defer { Task { await gateway.shutdown() } }
            let started = ContinuousClock.now
            let call = try json(
                await gateway.handle(JSONRPCRequest(id: 1, method: "tools/call", params: ["name": "dead_echo"]), in: environment(.anonymous)))
            #expect(ContinuousClock.now - started < .seconds(4))
            let result = try #require(call["result"]?.objectValue)
            #expect(result["isError"] == true)
            #expect(result["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue?.contains("\"dead\" did not answer") == true)
            #expect(try await toolNames(gateway, .anonymous).contains("hub_echo"))
            let health = await gateway.health()
            #expect(health.first { $0.name == "dead" }?.state == "down")
            #expect(health.first { $0.name == "hub" }?.state == "up")
        }
    }

    @Test func progressFromTheUpstreamArrivesBeforeTheResult() async throws {
        try await withUpstream { url in
            for choice in [UpstreamSpec.ProtocolChoice.session, .stateless] {
                let gateway = GatewayService(
                    upstreams: [UpstreamSpec(name: "hub", transport: .streamableHTTP(url: url), protocolChoice: choice)],
                    serverInfo: .gateway(upstreams: ["hub"]), minter: nil, logger: Self.logger)
                let endpoint = StreamableHTTPEndpoint(service: gateway, sessions: SessionStore(idleTimeout: .seconds(60), capacity: 10))
                let body = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"hub_wait","arguments":{"seconds":2},"_meta":{"progressToken":"p1","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
                let request = MCPHTTPRequest(
                    method: .post,
                    headerFields: [
                        .contentType: "application/json", .accept: "application/json, text/event-stream", .mcpProtocolVersion: "2026-07-28",
                        .mcpMethod: "tools/call", .mcpName: "hub_wait",
                    ], body: Data(body.utf8))
                let response = await endpoint.respond(to: request, logger: Self.logger)
                let text = String(decoding: await response.body.collected(), as: UTF8.self)
                let messages = text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
                    try? JSONValue.parse(Array($0.dropFirst(6).utf8))
                }
                let progress = messages.filter { $0.objectValue?["method"] == "notifications/progress" }
                #expect(progress.count >= 1, "\(choice): \(text)")
                #expect(progress.allSatisfy { $0.objectValue?["params"]?.objectValue?["progressToken"] == "p1" })
                #expect(messages.last?.objectValue?["id"] == 7)
                await gateway.shutdown()
            }
        }
    }

    @Test func mintedTokensNameTheCallerTheUpstreamAndTheGateway() async throws {
        let minter = CountingMinter()
        let cache = MintedTokenCache()
        let alice = Principal(subject: "alice", issuer: "https://login.example", email: "a@example.com", scopes: ["b", "a"], organizationID: "org_1")
        let first = try await cache.token(for: alice, audience: "http://127.0.0.1:9000/mcp", lifetime: .seconds(300), minter: minter)
        let again = try await cache.token(for: alice, audience: "http://127.0.0.1:9000/mcp", lifetime: .seconds(300), minter: minter)
        _ = try await cache.token(for: alice, audience: "http://127.0.0.1:9001/mcp", lifetime: .seconds(300), minter: minter)
        #expect(first == again)
        #expect(minter.count() == 2)
        let claims = MintedTokenCache.claims(
            for: alice, audience: "http://127.0.0.1:9000/mcp", issuer: "http://127.0.0.1:8884", issuedAt: Date(timeIntervalSince1970: 1000),
            lifetime: 300)
        #expect(claims["sub"] == "alice")
        #expect(claims["aud"] == "http://127.0.0.1:9000/mcp")
        #expect(claims["iss"] == "http://127.0.0.1:8884")
        #expect(claims["exp"] == 1300)
        #expect(claims["scope"] == "a b")
        #expect(claims["act"] == ["sub": "http://127.0.0.1:8884"])
        #expect(claims["org_id"] == "org_1")
    }
}

final class CountingMinter: UpstreamTokenMinter, @unchecked Sendable {
    let issuer = "http://127.0.0.1:8884"
    private let lock = NSLock()
    private var signed = 0

    func sign(claims: [String: JSONValue]) async throws -> String {
        lock.withLock { signed += 1 }
        return "token-\(lock.withLock { signed })"
    }

    func count() -> Int { lock.withLock { signed } }
}
