import Foundation
import Testing

@testable import GatehouseGateway

@Suite struct GatewayConfigurationTests {
    func parse(_ json: String, environment: [String: String] = [:]) throws(GatewayConfigurationError) -> [UpstreamSpec] {
        try GatewayConfigurationFile.parse(Data(json.utf8), source: "gateway.json", environment: environment)
    }

    @Test func aFullFileIsRead() throws {
        let specs = try parse(
            """
            {"upstreams": [
              {"name": "docs", "url": "https://docs.example/mcp", "protocol": "session", "timeout_seconds": 20,
               "identity": {"type": "jwt", "lifetime_seconds": 120}, "scopes": ["docs:read"], "users": ["alice"],
               "tools": {"delete": {"scopes": ["docs:admin"]}}},
              {"name": "files", "command": "python3", "args": ["server.py", "--root", "/srv"], "env": {"LOG": "1"}, "transparent": true,
               "identity": {"type": "static", "env": "FILES_TOKEN"}}
            ]}
            """, environment: ["FILES_TOKEN": "s3cret"])
        #expect(specs.count == 2)
        #expect(specs[0].transport == .streamableHTTP(url: "https://docs.example/mcp"))
        #expect(specs[0].protocolChoice == .session)
        #expect(specs[0].timeout == .seconds(20))
        #expect(specs[0].identity == .mintedToken(audience: nil, lifetime: .seconds(120)))
        #expect(specs[0].access == AccessRule(requiredScopes: ["docs:read"], users: ["alice"]))
        #expect(specs[0].toolAccess["delete"] == AccessRule(requiredScopes: ["docs:admin"]))
        #expect(specs[1].transport == .stdio(StdioCommand(executable: "python3", arguments: ["server.py", "--root", "/srv"], environment: ["LOG": "1"])))
        #expect(specs[1].transparent)
        #expect(specs[1].identity == .staticCredential(header: "Authorization", value: "s3cret"))
        // The secret is not in the description the banner prints.
        #expect(!"\(specs[1].identity)".contains("s3cret"))
        try specs.validateTogether()
    }

    @Test func mistakesAreNamed() {
        let cases: [(String, String)] = [
            (#"{"upstreams": []}"#, "non-empty array"),
            (#"{"upstreams": [{"name": "docs", "url": "https://d/mcp", "scope": ["x"]}]}"#, #"unknown key "scope""#),
            (#"{"upstreams": [{"name": "docs_v2", "url": "https://d/mcp"}]}"#, "no underscore"),
            (#"{"upstreams": [{"name": "docs", "url": "ftp://d"}]}"#, "not an http(s) URL"),
            (#"{"upstreams": [{"name": "docs", "url": "https://d/mcp", "command": "x"}]}"#, "either \"url\""),
            (#"{"upstreams": [{"name": "docs", "url": "https://d/mcp", "identity": {"type": "static", "env": "NOPE"}}]}"#, "NOPE is not set"),
            (#"{"upstreams": [{"name": "docs", "url": "https://d.example/mcp", "identity": {"type": "headers"}}]}"#, "only for upstreams on 127.0.0.1"),
            (#"{"upstreams": [{"name": "docs", "url": "https://d/mcp", "identity": {"type": "passthrough"}}]}"#, "\"type\" must be"),
            ("not json", "not valid JSON"),
        ]
        for (json, expected) in cases {
            do {
                _ = try parse(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.description.contains(expected), "\(error) should mention \(expected)")
            }
        }
    }

    @Test func upstreamsAreCheckedTogether() throws {
        let docs = try UpstreamSpec(flag: "docs=http://127.0.0.1:9000/mcp")
        #expect(throws: GatewayConfigurationError.self) { try [docs, docs].validateTogether() }
        var first = docs
        first.transparent = true
        var second = try UpstreamSpec(flag: "files=http://127.0.0.1:9001/mcp")
        second.transparent = true
        #expect(throws: GatewayConfigurationError.self) { try [first, second].validateTogether() }
        #expect(throws: GatewayConfigurationError.self) { try [UpstreamSpec]().validateTogether() }
    }

    @Test func stdioFlagsAreSplitLikeAShellDoes() throws {
        let spec = try UpstreamSpec(flag: #"files=stdio:npx -y "@scope/server fs" '/srv/my files' a\ b"#)
        #expect(spec.transport == .stdio(StdioCommand(executable: "npx", arguments: ["-y", "@scope/server fs", "/srv/my files", "a b"])))
        #expect(throws: GatewayConfigurationError.self) { try UpstreamSpec(flag: "files=stdio:python3 'unclosed") }
        #expect(throws: GatewayConfigurationError.self) { try UpstreamSpec(flag: "files=stdio:") }
        #expect(throws: GatewayConfigurationError.self) { try UpstreamSpec(flag: "just-a-name") }
    }
}
