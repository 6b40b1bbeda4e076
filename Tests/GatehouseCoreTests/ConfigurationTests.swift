import GatehouseCore
import Foundation
import Testing

@Suite("Configuration loading")
struct ConfigurationTests {
    private func load(_ sources: ConfigurationSources) throws(ConfigurationError) -> GatehouseConfiguration {
        try GatehouseConfiguration.load(from: sources).0
    }

    @Test func defaultsServeLoopbackOn8884() throws {
        let config = try load(ConfigurationSources())
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8884)
        #expect(config.mcpPath == "/mcp")
        #expect(config.isBoundToLoopback)
        #expect(config.baseURL().url(for: config.mcpPath) == "http://127.0.0.1:8884/mcp")
    }

    @Test func flagBeatsEnvOverrideBeatsEnvironmentBeatsDotEnv() throws {
        var sources = ConfigurationSources(
            flags: ["port": "1001"], envOverrides: ["HUB_PORT": "1002"], environment: ["HUB_PORT": "1003"],
            dotEnv: ["HUB_PORT": "1004"])
        #expect(try load(sources).port == 1001)
        sources.flags = [:]
        #expect(try load(sources).port == 1002)
        sources.envOverrides = [:]
        #expect(try load(sources).port == 1003)
        sources.environment = [:]
        #expect(try load(sources).port == 1004)
        sources.dotEnv = [:]
        #expect(try load(sources).port == 8884)
    }

    @Test func gatehouseNameBeatsSeedNameInTheSameLayer() throws {
        let config = try load(ConfigurationSources(environment: ["HUB_PORT": "9000", "GATEHOUSE_PORT": "9001"]))
        #expect(config.port == 9001)
    }

    @Test func seedNamesAreAccepted() throws {
        let config = try load(
            ConfigurationSources(environment: [
                "HUB_HOST": "0.0.0.0", "HUB_PORT": "9100", "HUB_BASE_URL": "https://mcp.example.com/",
            ]))
        #expect(config.host == "0.0.0.0")
        #expect(!config.isBoundToLoopback)
        #expect(config.baseURL().url(for: "/mcp") == "https://mcp.example.com/mcp")
    }

    @Test func emptyValueCountsAsUnset() throws {
        let config = try load(ConfigurationSources(environment: ["HUB_PORT": ""], dotEnv: ["HUB_PORT": "9200"]))
        #expect(config.port == 9200)
    }

    @Test func invalidPortNamesTheSettingAndItsSource() {
        #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(dotEnv: ["HUB_PORT": "eighty"])) }
        do {
            _ = try load(ConfigurationSources(dotEnv: ["HUB_PORT": "eighty"]))
        } catch {
            #expect(error.description.hasPrefix("invalid configuration: HUB_PORT (from .env file): cannot use \"eighty\""))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test(arguments: ["70000", "-1", "80a"])
    func outOfRangePortsAreRefused(port: String) {
        #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(flags: ["port": port])) }
    }

    @Test func unknownEnvOverrideIsATypo() {
        #expect(throws: ConfigurationError(key: "HUB_PROT", layer: .envOverride,
            problem: "unknown setting; see `gatehouse hub --help` for the names Gatehouse reads")) {
            try load(ConfigurationSources(envOverrides: ["HUB_PROT": "9000"]))
        }
    }

    @Test func seedZerosDatabaseURLSelectsPostgreSQL() throws {
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        #expect(throws: ConfigurationError.self, "instances sharing PostgreSQL need one secret key") {
            try GatehouseConfiguration.load(from: ConfigurationSources(environment: ["HUB_DATABASE_URL": "postgres://localhost/hub"]))
        }
        let (config, warnings) = try GatehouseConfiguration.load(
            from: ConfigurationSources(environment: ["HUB_DATABASE_URL": "postgres://hub:s%40cret@localhost:5433/hub", "GATEHOUSE_SECRET_KEY": key]))
        #expect(warnings.isEmpty)
        let postgres = try #require(config.postgres)
        #expect(postgres.host == "localhost" && postgres.port == 5433 && postgres.user == "hub" && postgres.database == "hub")
        #expect(postgres.password?.value == "s@cret" && postgres.sslMode == .disable)
        #expect(postgres.redactedURL == "postgres://hub@localhost:5433/hub")
        #expect(throws: ConfigurationError.self) {
            try GatehouseConfiguration.load(from: ConfigurationSources(environment: ["HUB_DATABASE_URL": "mysql://x/y", "GATEHOUSE_SECRET_KEY": key]))
        }
        #expect(throws: ConfigurationError.self) {
            try GatehouseConfiguration.load(
                from: ConfigurationSources(environment: ["HUB_DATABASE_URL": "postgres://h/d?sslmode=verify-full", "GATEHOUSE_SECRET_KEY": key]))
        }
    }

    @Test func databasePathComesFromTheSeedName() throws {
        let config = try load(ConfigurationSources(environment: ["HUB_DATABASE_PATH": "/var/lib/hub.db"]))
        #expect(config.databasePath == "/var/lib/hub.db")
        #expect(try load(ConfigurationSources()).databasePath == "hub_data/hub.db")
    }

    @Test func devAutoApproveIsLoopbackOnly() throws {
        #expect(try load(ConfigurationSources(flags: ["devAutoApprove": "true"])).authorizationServer.devAutoApprove)
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(flags: ["devAutoApprove": "true", "baseURL": "https://mcp.example.com"]))
        }
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(flags: ["devAutoApprove": "true", "host": "0.0.0.0"]))
        }
    }

    @Test func embeddedIssuerIsTheBaseURL() throws {
        let config = try load(ConfigurationSources(flags: ["baseURL": "https://example.com/gh/"]))
        #expect(config.issuerURL == "https://example.com/gh")
        #expect(config.resourceURL == "https://example.com/gh/mcp")
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(flags: ["trustForwardedHeaders": "true"]))
        }
    }

    @Test func theSecretKeyIs32BytesOfEitherBase64() throws {
        let standard = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k="
        let urlSafe = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k"
        let fromStandard = try load(ConfigurationSources(environment: ["GATEHOUSE_SECRET_KEY": standard])).hub.secretKey
        #expect(fromStandard?.count == 32)
        #expect(try load(ConfigurationSources(environment: ["GATEHOUSE_SECRET_KEY": urlSafe])).hub.secretKey == fromStandard)
        #expect(try load(ConfigurationSources()).hub.secretKey == nil)
        do {
            _ = try load(ConfigurationSources(environment: ["GATEHOUSE_SECRET_KEY": "c2hvcnQ="]))
            Issue.record("a 5-byte key was accepted")
        } catch {
            #expect(error.key == "GATEHOUSE_SECRET_KEY")
            #expect(!error.description.contains("c2hvcnQ"))  // the value is never echoed
        }
    }

    @Test func tokenLifetimesAreBounded() throws {
        let config = try load(ConfigurationSources(environment: ["GATEHOUSE_ACCESS_TOKEN_TTL": "60"]))
        #expect(config.authorizationServer.accessTokenLifetime == .seconds(60))
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(environment: ["GATEHOUSE_ACCESS_TOKEN_TTL": "5"]))
        }
    }

    @Test func accountProvidersComeFromPresetsAndTheirOwnSettings() throws {
        let config = try load(
            ConfigurationSources(environment: [
                "GATEHOUSE_ACCOUNTS": "github,acme-sso", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID": "Iv1.abc", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_SECRET": "s3cret",
                "GATEHOUSE_ACCOUNT_ACME_SSO_ISSUER": "https://sso.acme.example/", "GATEHOUSE_ACCOUNT_ACME_SSO_CLIENT_ID": "hub",
                "GATEHOUSE_ACCOUNT_ACME_SSO_API_HOSTS": "api.acme.example,*.acme.example", "GATEHOUSE_ACCOUNT_ACME_SSO_SCOPES": "openid read",
                "GATEHOUSE_ACCOUNT_ACME_SSO_AUTHORIZE_PARAMS": "prompt=consent&audience=api",
            ]))
        let (github, acme) = (config.hub.accounts[0], config.hub.accounts[1])
        #expect(github.name == "github" && github.title == "GitHub" && github.clientSecret?.value == "s3cret")
        #expect(github.endpoints == .fixed(authorize: "https://github.com/login/oauth/authorize", token: "https://github.com/login/oauth/access_token"))
        #expect(github.apiHosts == ["api.github.com"] && github.scopes == ["read:user"] && github.resource == nil)
        #expect(acme.endpoints == .discovered(issuer: "https://sso.acme.example/") && acme.title == "acme-sso" && acme.clientSecret == nil)
        #expect(acme.apiHosts == ["api.acme.example", "*.acme.example"] && acme.scopes == ["openid", "read"])
        #expect(acme.authorizeParameters == ["prompt": "consent", "audience": "api"])
        #expect("\(github)".contains("s3cret") == false, "the secret is never printed")
    }

    @Test(arguments: [
        (["GATEHOUSE_ACCOUNTS": "acme", "GATEHOUSE_ACCOUNT_ACME_CLIENT_ID": "x"], "GATEHOUSE_ACCOUNT_ACME_ISSUER"),
        (["GATEHOUSE_ACCOUNTS": "github"], "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID"),
        (["GATEHOUSE_ACCOUNTS": "GitHub"], "GATEHOUSE_ACCOUNTS"),
        (["GATEHOUSE_ACCOUNTS": "a,a", "GATEHOUSE_ACCOUNT_A_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_A_ISSUER": "https://a.example", "GATEHOUSE_ACCOUNT_A_API_HOSTS": "a.example"], "named twice"),
        (["GATEHOUSE_ACCOUNTS": "a", "GATEHOUSE_ACCOUNT_A_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_A_AUTHORIZE_URL": "https://a.example/auth"], "GATEHOUSE_ACCOUNT_A_ISSUER"),
        (["GATEHOUSE_ACCOUNTS": "a", "GATEHOUSE_ACCOUNT_A_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_A_ISSUER": "http://a.example"], "GATEHOUSE_ACCOUNT_A_ISSUER"),
        (["GATEHOUSE_ACCOUNTS": "a", "GATEHOUSE_ACCOUNT_A_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_A_ISSUER": "https://a.example"], "GATEHOUSE_ACCOUNT_A_API_HOSTS"),
        (["GATEHOUSE_ACCOUNTS": "github", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_GITHUB_AUTHORIZE_PARAMS": "state=mine"],
         "GATEHOUSE_ACCOUNT_GITHUB_AUTHORIZE_PARAMS"),
    ])
    func badAccountProvidersAreRefusedNamingTheSetting(environment: [String: String], named: String) {
        let error = #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(environment: environment)) }
        #expect(error?.description.contains(named) == true, "\(String(describing: error))")
    }

    @Test func anAccountSettingOfAnUnlistedProviderIsATypo() throws {
        _ = try load(ConfigurationSources(envOverrides: ["GATEHOUSE_ACCOUNTS": "github", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID": "x"]))
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(envOverrides: ["GATEHOUSE_ACCOUNTS": "github", "GATEHOUSE_ACCOUNT_GITHUB_CLIENT_ID": "x", "GATEHOUSE_ACCOUNT_GITLAB_CLIENT_ID": "y"]))
        }
    }

    @Test func signInWaitsAreBoundedByTheLockout() throws {
        let config = try load(ConfigurationSources(environment: ["GATEHOUSE_SIGN_IN_FIRST_WAIT": "3", "GATEHOUSE_SIGN_IN_LOCKOUT": "12"]))
        #expect(config.authorizationServer.signInFirstWait == .seconds(3))
        #expect(config.authorizationServer.signInLockout == .seconds(12))
        #expect(try load(ConfigurationSources(environment: [:])).authorizationServer.signInFirstWait == .seconds(1))
        let tooLong = #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(environment: ["GATEHOUSE_SIGN_IN_FIRST_WAIT": "20", "GATEHOUSE_SIGN_IN_LOCKOUT": "12"]))
        }
        #expect(tooLong?.description.contains("longer than the lockout") == true)
        #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(environment: ["GATEHOUSE_SIGN_IN_FIRST_WAIT": "0"])) }
    }

    @Test(arguments: [("mcp", "/mcp"), ("/api/mcp/", "/api/mcp"), ("/api/mcp", "/api/mcp")])
    func mcpPathIsNormalized(raw: String, expected: String) throws {
        #expect(try load(ConfigurationSources(flags: ["mcpPath": raw])).mcpPath == expected)
    }

    @Test(arguments: ["/", "/.well-known/x", "/healthz", "/a b", "/a//b", "/mcp?x=1"])
    func unusableMcpPathsAreRefused(raw: String) {
        #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(flags: ["mcpPath": raw])) }
    }

    @Test func baseURLKeepsAPathPrefixAndDropsDefaultPort() throws {
        let base = try PublicBaseURL(parsing: "HTTPS://Example.COM:443/gatehouse/")
        #expect(base.origin == "https://example.com")
        #expect(base.url(for: "/mcp") == "https://example.com/gatehouse/mcp")
    }

    @Test(arguments: ["example.com", "ftp://example.com", "https://example.com/?a=1", "https://u:p@example.com"])
    func unusableBaseURLsAreRefused(raw: String) {
        #expect(throws: ConfigurationError.self) { try load(ConfigurationSources(flags: ["baseURL": raw])) }
    }

    @Test func derivedBaseURLUsesTheBoundPortAndAReachableHost() throws {
        let config = try load(ConfigurationSources(flags: ["host": "0.0.0.0", "port": "0"]))
        #expect(config.baseURL(boundPort: 40123).origin == "http://127.0.0.1:40123")
        let ipv6 = try load(ConfigurationSources(flags: ["host": "[::1]"]))
        #expect(ipv6.host == "::1")
        #expect(ipv6.isBoundToLoopback)
        #expect(ipv6.baseURL().origin == "http://[::1]:8884")
    }

    @Test func logLevelAndLimitsAreParsed() throws {
        let config = try load(
            ConfigurationSources(environment: [
                "LOG_LEVEL": "DEBUG", "GATEHOUSE_MAX_BODY_BYTES": "2048", "GATEHOUSE_SESSION_IDLE_TIMEOUT": "60",
                "GATEHOUSE_MAX_SESSIONS": "5",
            ]))
        #expect(config.logLevel == .debug)
        #expect(config.maxBodyBytes == 2048)
        #expect(config.sessionIdleTimeout == .seconds(60))
        #expect(config.maxSessions == 5)
        #expect(throws: ConfigurationError.self) {
            try load(ConfigurationSources(environment: ["GATEHOUSE_MAX_BODY_BYTES": "10"]))
        }
    }

    @Test func longValuesAreNotEchoedWhole() {
        let secretish = String(repeating: "s", count: 200)
        do {
            _ = try load(ConfigurationSources(environment: ["HUB_PORT": secretish]))
            Issue.record("a 200-character port was accepted")
        } catch {
            #expect(!error.description.contains(secretish))
            #expect(error.description.contains("200 characters"))
        }
    }
}
