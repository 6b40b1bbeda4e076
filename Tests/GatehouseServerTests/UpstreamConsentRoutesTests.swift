import Foundation
import GatehouseCore
import GatehouseServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The consent page of upstream sign-in, as a hub on https serves it (WorkOS, started lazily so no
/// provider is contacted).
@Suite("Upstream sign-in consent routes")
struct UpstreamConsentRoutesTests {
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    private func server() async throws -> GatehouseServer {
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-upstream-\(UUID().uuidString)/hub.db")
        let (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(
                flags: ["databasePath": database.path, "baseURL": "https://mcp.example.com", "lazyProvider": "true"],
                environment: [
                    "WORKOS_CLIENT_ID": "client_01TEST", "WORKOS_API_KEY": "sk_test_never_shown",
                    "GATEHOUSE_WORKOS_API_URL": "http://127.0.0.1:9", "WORKOS_ORGANIZATION_ID": "org_01ACME",
                ]))
        return try await GatehouseServer.make(configuration: configuration, logger: .init(label: "test"))
    }

    @Test func theConsentPageUsesHostCookiesAndMayLeadOnlyToTheClientAndTheProvider() async throws {
        try await Application(router: try await server().router()).test(.router) { client in
            // The WorkOS client id itself, as a client given it out of band (claude.ai) uses it.
            let uri = "/authorize?response_type=code&client_id=client_01TEST"
                + "&redirect_uri=https%3A%2F%2Fclaude.ai%2Fapi%2Fmcp%2Fauth_callback&code_challenge=\(Self.challenge)"
                + "&code_challenge_method=S256&state=st&resource=https%3A%2F%2Fmcp.example.com%2Fmcp"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let cookie = try #require(response.headers[.setCookie])
                #expect(cookie.hasPrefix("__Host-gatehouse_browser_"), "\(cookie)")
                #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "\(cookie)")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                #expect(policy.contains("form-action 'self' https://claude.ai http://127.0.0.1:9;"), "\(policy)")
                #expect(policy.contains("frame-ancestors 'none'"))
                let html = String(buffer: response.body)
                #expect(html.contains("Continue with WorkOS"))
                #expect(!html.contains("sk_test_never_shown"))
            }
            let elsewhere = "/authorize?response_type=code&client_id=client_01TEST&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
                + "&code_challenge=\(Self.challenge)&code_challenge_method=S256&state=st"
            try await client.execute(uri: elsewhere, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.location] == nil)
            }
        }
    }
}
