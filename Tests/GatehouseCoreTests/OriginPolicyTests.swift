import GatehouseCore
import Testing

@Suite("Origin validation")
struct OriginPolicyTests {
    private func policy(host: String = "127.0.0.1", origins: String? = nil, baseURL: String? = nil) throws -> OriginPolicy {
        var flags = ["host": host]
        flags["allowedOrigins"] = origins
        flags["baseURL"] = baseURL
        return OriginPolicy(configuration: try GatehouseConfiguration.load(from: ConfigurationSources(flags: flags)).0)
    }

    @Test func requestsWithoutOriginPass() throws {
        #expect(try policy().allows(origin: nil))
    }

    @Test func localhostOriginsPassOnlyWhenBoundToLoopback() throws {
        #expect(try policy().allows(origin: "http://localhost:5173"))
        #expect(try policy().allows(origin: "http://127.0.0.1:3000"))
        #expect(try !policy(host: "0.0.0.0", baseURL: "https://mcp.example.com").allows(origin: "http://localhost:5173"))
    }

    @Test func foreignOriginsAreRefused() throws {
        #expect(try !policy().allows(origin: "https://evil.example"))
        #expect(try !policy().allows(origin: "null"))
        #expect(try !policy().allows(origin: "http://localhost.evil.example"))
    }

    @Test func ownOriginAndAllowListPass() throws {
        let configured = try policy(host: "0.0.0.0", origins: "https://app.example.com", baseURL: "https://mcp.example.com")
        #expect(configured.allows(origin: "https://mcp.example.com"))
        #expect(configured.allows(origin: "https://APP.example.com:443"))
        #expect(!configured.allows(origin: "https://app.example.com:8443"))
    }

    @Test func wildcardAllowsAny() throws {
        #expect(try policy(origins: "*").allows(origin: "https://anything.example"))
    }

    @Test func malformedAllowListEntriesAreRefused() {
        #expect(throws: ConfigurationError.self) { try policy(origins: "app.example.com") }
    }
}
