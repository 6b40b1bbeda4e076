import Foundation
import GatehouseCore
import GatehouseMCP
import GatehouseServer
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("MCP endpoint rate limits")
struct RateLimitRoutesTests {
    private func app(_ environment: [String: String]) throws -> some ApplicationProtocol {
        let (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(flags: ["providerType": "none"], environment: environment))
        return Application(router: GatehouseServer(configuration: configuration).router())
    }

    private static let headers: HTTPFields = [
        .contentType: "application/json", .accept: "application/json, text/event-stream", .mcpProtocolVersion: "2026-07-28",
    ]

    private static func call(_ tool: String, id: Int, arguments: String = "{}") -> ByteBuffer {
        ByteBuffer(string: #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments),"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#)
    }

    private static func callHeaders(_ tool: String) -> HTTPFields {
        var headers = Self.headers
        headers[.mcpMethod] = "tools/call"
        headers[.mcpName] = tool
        return headers
    }

    @Test func aUserOverTheLimitGets429WithRetryAfterAndAJSONRPCError() async throws {
        try await app(["GATEHOUSE_RATE_LIMIT_USER": "3/hour"]).test(.router) { client in
            for id in 1...3 {
                try await client.execute(uri: "/mcp", method: .post, headers: Self.callHeaders("whoami"), body: Self.call("whoami", id: id)) {
                    #expect($0.status == .ok)
                }
            }
            try await client.execute(uri: "/mcp", method: .post, headers: Self.callHeaders("whoami"), body: Self.call("whoami", id: 4)) { response in
                #expect(response.status == .tooManyRequests)
                let retryAfter = try #require(response.headers[.retryAfter].flatMap(Int.init))
                #expect((1...3600).contains(retryAfter))
                let body = try JSONValue.parse(Data(response.body.readableBytesView))
                guard case .object(let object) = body, case .object(let error)? = object["error"] else {
                    Issue.record("not a JSON-RPC error: \(String(buffer: response.body))")
                    return
                }
                #expect(error["code"] == .int(JSONRPCError.rateLimitedCode))
                #expect(object["id"] == .null)  // user limits are checked before the body is read
                guard case .object(let data)? = error["data"] else { return }
                #expect(data["limit"] == .string("user") && data["allowed"] == .string("3/hour") && data["retryAfter"] == .int(retryAfter))
            }
        }
    }

    @Test func aLimitedToolIsRefusedAloneAndTheErrorAnswersTheCall() async throws {
        try await app(["GATEHOUSE_RATE_LIMIT_TOOLS": "add=2/hour"]).test(.router) { client in
            for id in 1...2 {
                try await client.execute(
                    uri: "/mcp", method: .post, headers: Self.callHeaders("add"), body: Self.call("add", id: id, arguments: #"{"a":1,"b":2}"#)
                ) { #expect($0.status == .ok) }
            }
            try await client.execute(
                uri: "/mcp", method: .post, headers: Self.callHeaders("add"), body: Self.call("add", id: 77, arguments: #"{"a":1,"b":2}"#)
            ) { response in
                #expect(response.status == .tooManyRequests)
                let text = String(buffer: response.body)
                #expect(text.contains(#""id":77"#) && text.contains(#""tool":"add""#) && text.contains("calls of add by one user"), "\(text)")
            }
            // Other tools and other methods go on.
            for id in 10...14 {
                try await client.execute(uri: "/mcp", method: .post, headers: Self.callHeaders("whoami"), body: Self.call("whoami", id: id)) {
                    #expect($0.status == .ok)
                }
            }
        }
    }

    @Test func aBodyTooLargeIsStillRefusedAs413WhenToolsAreLimited() async throws {
        try await app(["GATEHOUSE_RATE_LIMIT_TOOLS": "add=2/hour", "GATEHOUSE_MAX_BODY_BYTES": "1024"]).test(.router) { client in
            let big = Self.call("add", id: 1, arguments: #"{"a":1,"b":2,"pad":""# + String(repeating: "x", count: 4096) + #""}"#)
            try await client.execute(uri: "/mcp", method: .post, headers: Self.callHeaders("add"), body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(String(buffer: response.body).contains("GATEHOUSE_MAX_BODY_BYTES"))
            }
        }
    }
}
