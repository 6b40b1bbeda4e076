import Foundation
import Testing

@testable import GatehouseCore

@Suite("Upstream login settings")
struct UpstreamLoginSettingsTests {
    private func load(_ environment: [String: String]) throws(ConfigurationError) -> UpstreamLoginSettings? {
        try GatehouseConfiguration.load(from: ConfigurationSources(environment: environment)).0.upstreamLogin
    }

    @Test func passwordsAreTheDefault() throws {
        #expect(try load([:]) == nil)
    }

    @Test func anIssuerMeansOpenIDConnectWithItsDefaultScopes() throws {
        let settings = try #require(
            try load([
                "GATEHOUSE_UPSTREAM_ISSUER": "https://accounts.example.com", "GATEHOUSE_UPSTREAM_CLIENT_ID": "cid",
                "GATEHOUSE_UPSTREAM_CLIENT_SECRET": "secret",
            ]))
        #expect(settings.kind == .oidc(issuer: "https://accounts.example.com"))
        #expect(settings.scopes == ["openid", "email", "profile"] && settings.displayName == "accounts.example.com")
        #expect("\(settings)".contains("secret") == false, "a printed configuration never shows the secret")
    }

    @Test func theSeedsWorkOSNamesMeanWorkOS() throws {
        let settings = try #require(
            try load(["WORKOS_CLIENT_ID": "client_123", "WORKOS_API_KEY": "sk_test_456", "WORKOS_ORGANIZATION_ID": "org_123"]))
        #expect(settings.kind == .workOS(apiURL: "https://api.workos.com", organizationID: "org_123", connectionID: nil))
        #expect(settings.clientID == "client_123" && settings.clientSecret.value == "sk_test_456")
        // The seed's WORKOS_BASE_URL is this server's public URL.
        let config = try GatehouseConfiguration.load(
            from: ConfigurationSources(environment: ["WORKOS_BASE_URL": "https://mcp.example.com"])).0
        #expect(config.issuerURL == "https://mcp.example.com")
    }

    @Test func mistakesNameTheSetting() {
        #expect(throws: ConfigurationError.self) { try load(["WORKOS_CLIENT_ID": "client_123"]) }
        do {
            _ = try load(["GATEHOUSE_UPSTREAM_ISSUER": "https://idp.example.com", "GATEHOUSE_UPSTREAM_CLIENT_ID": "cid"])
            Issue.record("a missing client secret must be refused")
        } catch {
            #expect(error.description.contains("GATEHOUSE_UPSTREAM_CLIENT_SECRET"))
        }
        #expect(throws: ConfigurationError.self) {
            try load([
                "GATEHOUSE_UPSTREAM_ISSUER": "http://idp.example.com", "GATEHOUSE_UPSTREAM_CLIENT_ID": "c",
                "GATEHOUSE_UPSTREAM_CLIENT_SECRET": "s",
            ])
        }
        #expect(throws: ConfigurationError.self) {
            try load([
                "GATEHOUSE_UPSTREAM_ISSUER": "https://idp.example.com", "GATEHOUSE_UPSTREAM_CLIENT_ID": "c",
                "GATEHOUSE_UPSTREAM_CLIENT_SECRET": "s", "GATEHOUSE_UPSTREAM_SCOPES": "email profile",
            ])
        }
    }

    @Test func githubIsAPlainOAuthProvider() throws {
        let settings = try #require(
            try load([
                "GATEHOUSE_UPSTREAM_AUTHORIZE_URL": "https://github.com/login/oauth/authorize",
                "GATEHOUSE_UPSTREAM_TOKEN_URL": "https://github.com/login/oauth/access_token",
                "GATEHOUSE_UPSTREAM_USERINFO_URL": "https://api.github.com/user", "GATEHOUSE_UPSTREAM_CLIENT_ID": "Iv1.abc",
                "GATEHOUSE_UPSTREAM_CLIENT_SECRET": "s", "GATEHOUSE_UPSTREAM_SCOPES": "read:user,user:email",
                "GATEHOUSE_UPSTREAM_NAME": "GitHub",
            ]))
        #expect(settings.scopes == ["read:user", "user:email"] && settings.displayName == "GitHub")
        guard case .oauth2(_, _, let userInfo) = settings.kind else {
            Issue.record("expected a plain OAuth 2.0 provider")
            return
        }
        #expect(userInfo == "https://api.github.com/user")
    }
}
