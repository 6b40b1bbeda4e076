import GatehouseCore
import Testing

@Suite("Auth settings")
struct AuthSettingsTests {
    private func auth(_ environment: [String: String], flags: [String: String] = [:]) throws(ConfigurationError) -> AuthSettings {
        try GatehouseConfiguration.load(from: ConfigurationSources(flags: flags, environment: environment)).0.auth
    }

    @Test func noProviderMeansTheEmbeddedAuthorizationServer() throws {
        #expect(try auth([:]).provider == .embedded)
        #expect(try auth([:]).isEnabled)
    }

    @Test func anonymousAccessMustBeAskedFor() throws {
        #expect(try auth(["MCP_PROVIDER_TYPE": "none"]).provider == .none)
        #expect(try !auth([:], flags: ["providerType": "none"]).isEnabled)
    }

    @Test func authKitDomainAloneIsEnough() throws {
        let settings = try auth(["WORKOS_AUTHKIT_DOMAIN": "https://your-project-12345.authkit.app/"])
        #expect(settings.provider == .authKit(domain: "https://your-project-12345.authkit.app"))
        #expect(settings.advertisedAuthorizationServer == "https://your-project-12345.authkit.app")
    }

    @Test func jwtIssuerKeepsItsExactSpelling() throws {
        let settings = try auth([
            "MCP_JWT_ISSUER": "https://issuer.example.com/", "MCP_JWT_JWKS_URI": "https://issuer.example.com/jwks",
            "MCP_JWT_AUDIENCE": "a, b", "MCP_JWT_ALGORITHMS": "ES256,RS256", "MCP_REQUIRED_SCOPES": "mcp:read mcp:write",
        ])
        #expect(settings.provider == .jwt(issuer: "https://issuer.example.com/", jwksURI: "https://issuer.example.com/jwks"))
        #expect(settings.audiences == ["a", "b"])
        #expect(settings.algorithms == ["ES256", "RS256"])
        #expect(settings.requiredScopes == ["mcp:read", "mcp:write"])
    }

    @Test(arguments: ["none", "HS256", "RS256,none"])
    func unsafeAlgorithmsAreRefused(algorithms: String) {
        #expect(throws: ConfigurationError.self) {
            try auth(["MCP_JWT_ISSUER": "https://issuer.example.com", "MCP_JWT_ALGORITHMS": algorithms])
        }
    }

    @Test func providerURLsMustBeHTTPSExceptOnLoopback() throws {
        #expect(throws: ConfigurationError.self) { try auth(["WORKOS_AUTHKIT_DOMAIN": "http://x.authkit.app"]) }
        #expect(try auth(["WORKOS_AUTHKIT_DOMAIN": "http://127.0.0.1:9000"]).provider == .authKit(domain: "http://127.0.0.1:9000"))
    }

    @Test func twoProvidersNeedAnExplicitChoice() throws {
        let both = ["WORKOS_AUTHKIT_DOMAIN": "https://x.authkit.app", "MCP_JWT_ISSUER": "https://issuer.example.com"]
        #expect(throws: ConfigurationError.self) { try auth(both) }
        var chosen = both
        chosen["MCP_PROVIDER_TYPE"] = "jwt"
        #expect(try auth(chosen).provider == .jwt(issuer: "https://issuer.example.com", jwksURI: nil))
    }

    @Test func staticTokensParse() throws {
        let settings = try auth(["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "t1:c1:alice:a,b; t2:c2:bob"])
        #expect(
            settings.provider == .staticTokens([
                .init(token: "t1", clientID: "c1", subject: "alice", scopes: ["a", "b"]),
                .init(token: "t2", clientID: "c2", subject: "bob", scopes: []),
            ]))
    }

    @Test func staticTokensAreRefusedOffLoopbackUnlessForced() throws {
        let environment = ["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "t1:c1:alice"]
        let flags = ["host": "0.0.0.0", "baseURL": "https://mcp.example.com"]
        #expect(throws: ConfigurationError.self) { try auth(environment, flags: flags) }
        var forced = environment
        forced["GATEHOUSE_ALLOW_STATIC_TOKENS_REMOTELY"] = "true"
        #expect(try auth(forced, flags: flags).isEnabled)
    }

    @Test func malformedStaticTokensDoNotEchoSecrets() {
        do {
            _ = try auth(["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "supersecret"])
            Issue.record("accepted a token without client and user")
        } catch {
            #expect(!error.description.contains("supersecret"))
        }
    }

    @Test func introspectionNeedsClientCredentials() throws {
        #expect(throws: ConfigurationError.self) { try auth(["MCP_INTROSPECTION_URL": "https://as.example.com/introspect"]) }
        let settings = try auth([
            "MCP_INTROSPECTION_URL": "https://as.example.com/introspect", "MCP_INTROSPECTION_CLIENT_ID": "rs",
            "MCP_INTROSPECTION_CLIENT_SECRET": "s3cret", "MCP_INTROSPECTION_AUTH_METHOD": "client_secret_post",
        ])
        guard case .introspection(let introspection) = settings.provider else {
            Issue.record("expected introspection")
            return
        }
        #expect(introspection.sendsCredentialsInBody)
    }

    @Test func forwardedHeadersNeedAFixedAudience() throws {
        let environment = ["MCP_JWT_ISSUER": "https://issuer.example.com", "GATEHOUSE_TRUST_FORWARDED_HEADERS": "true"]
        #expect(throws: ConfigurationError.self) { try auth(environment) }
        #expect(try auth(environment, flags: ["baseURL": "https://mcp.example.com"]).trustForwardedHeaders)
    }

    @Test func resourceURLIsTheEndpointUnderTheBaseURL() throws {
        let (configuration, _) = try GatehouseConfiguration.load(
            from: ConfigurationSources(flags: ["baseURL": "https://mcp.example.com/", "mcpPath": "/api/mcp"]))
        #expect(configuration.resourceURL == "https://mcp.example.com/api/mcp")
    }
}

extension AuthSettingsTests {
    @Test func advertisedAuthorizationServerKeepsItsExactSpelling() throws {
        let settings = try auth([
            "MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "t:c:u", "MCP_AUTHORIZATION_SERVER": "https://as.example.com/tenant/",
        ])
        #expect(settings.advertisedAuthorizationServer == "https://as.example.com/tenant/")
        #expect(throws: ConfigurationError.self) {
            try auth(["MCP_PROVIDER_TYPE": "static", "MCP_STATIC_TOKENS": "t:c:u", "MCP_AUTHORIZATION_SERVER": "http://as.example.com"])
        }
    }
}
