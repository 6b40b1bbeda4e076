import Crypto
import Foundation
import GatehouseCore
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

    @Test func aPendingSignInAcceptsOnlyItsOwnAnswer() throws {
        let server = AuthorizationServerInfo(
            issuer: "https://as.example.com", authorizationEndpoint: "https://as.example.com/authorize?tenant=a",
            tokenEndpoint: "https://as.example.com/token", registrationEndpoint: nil, scopesSupported: [],
            supportsClientIDMetadataDocuments: false, sendsIssuerInResponse: true)
        let pending = PendingSignIn(
            serverURL: "https://mcp.example.com/mcp", resource: "https://mcp.example.com/mcp", server: server, clientID: "client 1",
            clientSecret: nil, redirectURI: "https://hub.example.com/connect/callback", scopes: ["notes", "files:read"])
        let query = try #require(URLComponents(string: pending.authorizationURL)?.queryItems)
        let sent = Dictionary(query.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
        #expect(pending.authorizationURL.hasPrefix("https://as.example.com/authorize?tenant=a&"))
        #expect(sent["client_id"] == "client 1" && sent["state"] == pending.state && sent["code_challenge_method"] == "S256")
        #expect(sent["resource"] == "https://mcp.example.com/mcp" && sent["scope"] == "notes files:read")
        #expect(sent["redirect_uri"] == "https://hub.example.com/connect/callback")
        #expect(sent["code_challenge"] == Base64URL.encode(SHA256.hash(data: Data(pending.codeVerifier.utf8))) && sent["code_verifier"] == nil)

        let issuer = "https://as.example.com"
        #expect(try pending.code(from: ["code": "c1", "state": pending.state, "iss": issuer]) == "c1")
        let refusals: [([String: String], String)] = [
            (["code": "c1", "state": "other", "iss": issuer], "wrong state"),
            (["code": "c1", "iss": issuer], "wrong state"),
            (["code": "c1", "state": pending.state, "iss": "https://evil.example"], "not https://as.example.com"),
            (["code": "c1", "state": pending.state], "lacks iss"),
            (["error": "access_denied", "error_description": "no", "state": pending.state, "iss": issuer], "refused the sign-in: access_denied: no"),
            (["state": pending.state, "iss": issuer], "no code"),
        ]
        for (parameters, reason) in refusals {
            #expect(throws: ClientError.self) { try pending.code(from: parameters) }
            do {
                _ = try pending.code(from: parameters)
            } catch {
                #expect(error.description.contains(reason), "\(parameters): \(error.description)")
            }
        }
        // Sealed and opened elsewhere (another instance), it is the same sign-in.
        let copy = try JSONDecoder().decode(PendingSignIn.self, from: try JSONEncoder().encode(pending))
        #expect(copy == pending)
        #expect(PendingSignIn(
            serverURL: "s", resource: "r", server: server, clientID: "c", clientSecret: nil, redirectURI: "u", scopes: []
        ).state != pending.state)
    }

    @Test func pkceChallengesAreS256OfTheVerifier() {
        let pair = PKCEPair()
        #expect(pair.verifier.count == 64)
        #expect(pair.challenge.count == 43)
        #expect(PKCEPair().verifier != pair.verifier)
    }
}
