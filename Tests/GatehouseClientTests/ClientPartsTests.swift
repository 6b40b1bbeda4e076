import Foundation
import GatehouseEgress
import Testing

@testable import GatehouseClient

@Suite("Client parts")
struct ClientPartsTests {
    @Test func bearerChallengesAreParsed() throws {
        let header = #"Bearer error="insufficient_scope", scope="notes:write tools:read", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", error_description="needs \"more\"""#
        let challenge = try #require(BearerChallengeParameters(header: header))
        #expect(challenge.error == "insufficient_scope")
        #expect(challenge.scope == ["notes:write", "tools:read"])
        #expect(challenge.resourceMetadata == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        #expect(BearerChallengeParameters(header: "Basic realm=x") == nil)
        #expect(BearerChallengeParameters(header: "Bearer")?.scope == [])
        #expect(BearerChallengeParameters(header: #"Basic realm="r", Bearer error="invalid_token""#)?.error == "invalid_token")
        #expect(BearerChallengeParameters(header: #"bearer realm="a \"quoted\" realm""#)?.parameters == ["realm": #"a "quoted" realm"#])
        #expect(BearerChallengeParameters(header: #"Basic realm="Bearer""#) == nil)
        #expect(BearerChallengeParameters(header: "NotBearer x=1") == nil)
    }

    @Test func staleTokensAreRefreshedEarly() {
        let server = AuthorizationServerInfo(
            issuer: "https://as.example.com", authorizationEndpoint: "https://as.example.com/authorize",
            tokenEndpoint: "https://as.example.com/token", registrationEndpoint: nil, scopesSupported: [],
            supportsClientIDMetadataDocuments: false, sendsIssuerInResponse: true)
        var login = StoredLogin(
            serverURL: "https://mcp.example.com/mcp", resource: "https://mcp.example.com/mcp", authorizationServer: server,
            clientID: "c", clientSecret: nil, redirectURI: nil, accessToken: "t", refreshToken: "r",
            expiresAt: Date().addingTimeInterval(20), scopes: [])
        #expect(login.accessTokenIsStale())
        login.expiresAt = Date().addingTimeInterval(600)
        #expect(!login.accessTokenIsStale())
        login.accessToken = nil
        #expect(login.accessTokenIsStale())
    }

    @Test func theTokenCacheIsPrivateAndSurvivesRewrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
        let cache = TokenCache(directory: directory)
        #expect(try cache.all().isEmpty)
        let server = AuthorizationServerInfo(
            issuer: "https://as.example.com", authorizationEndpoint: "https://as.example.com/authorize",
            tokenEndpoint: "https://as.example.com/token", registrationEndpoint: "https://as.example.com/register",
            scopesSupported: ["a"], supportsClientIDMetadataDocuments: true, sendsIssuerInResponse: true)
        let login = StoredLogin(
            serverURL: "https://mcp.example.com/mcp", resource: "https://mcp.example.com/mcp", authorizationServer: server,
            clientID: "client", clientSecret: nil, redirectURI: "http://127.0.0.1:5000/callback", accessToken: "access",
            refreshToken: "refresh", expiresAt: Date(timeIntervalSince1970: 2_000_000_000), scopes: ["a"])
        try cache.save(login)
        var second = login
        second.serverURL = "https://other.example.com/mcp"
        try cache.save(second)
        #expect(try cache.login(for: login.serverURL) == login)
        #expect(try cache.all().count == 2)
        let mode = try FileManager.default.attributesOfItem(atPath: cache.file.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try cache.remove(login.serverURL))
        #expect(try !cache.remove(login.serverURL))
        try cache.removeAll()
        #expect(try cache.all().isEmpty)
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["tokens.json"])
    }

    @Test func anUnreadableCacheSaysWhatToDo() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("not json".utf8).write(to: directory.appendingPathComponent("tokens.json"))
        #expect(throws: ClientError.self) { try TokenCache(directory: directory).all() }
    }

    @Test func pkceChallengesAreS256OfTheVerifier() {
        let pair = PKCEPair()
        #expect(pair.verifier.count == 64)
        #expect(pair.challenge.count == 43)
        #expect(PKCEPair().verifier != pair.verifier)
    }
}
