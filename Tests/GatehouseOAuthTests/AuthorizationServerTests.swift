import Crypto
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseSQLite
import Logging
import Synchronization
import Testing

@testable import GatehouseOAuth

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let instant = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { instant.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { instant.withLock { $0 += seconds } }
    var function: @Sendable () -> Date { { self.now } }
}

/// An authorization server on a fresh SQLite store, with helpers for the code flow.
struct Harness {
    static let resource = "http://127.0.0.1:8884/mcp"
    static let redirect = "http://127.0.0.1:5555/callback"
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    let clock = TestClock()
    let directory: URL
    let store: SQLiteStore
    let secrets = SecretBox(key: SymmetricKey(size: .bits256))
    let server: AuthorizationServer

    init(scopes: [String] = ["tools:read", "tools:write"]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-oauth-\(UUID().uuidString)")
        store = try SQLiteStore(path: directory.appendingPathComponent("hub.db").path)
        var settings = AuthorizationServerSettings(issuer: "http://127.0.0.1:8884", resources: [Self.resource], scopesSupported: scopes)
        settings.allowPrivateClientMetadataURLs = true
        server = AuthorizationServer(settings: settings, store: store, secrets: secrets, now: clock.function)
    }

    /// Registers a public client (or a confidential one) and returns its id and secret.
    func register(
        authMethod: String = "none", grantTypes: [JSONValue] = ["authorization_code", "refresh_token"]
    ) async throws -> (id: String, secret: String?) {
        let body: JSONValue = [
            "redirect_uris": [.string(Self.redirect)], "token_endpoint_auth_method": .string(authMethod),
            "grant_types": .array(grantTypes), "client_name": "Test client",
        ]
        guard case .registered(let response) = try await server.registrar.register(body, from: "127.0.0.1") else {
            throw OAuthError(.invalidClientMetadata, "registration refused")
        }
        return (response.objectValue!["client_id"]!.stringValue!, response.objectValue!["client_secret"]?.stringValue)
    }

    /// Alice, created on first use.
    func user() async throws -> LocalUser {
        if let alice = try await store.localUser(email: "alice@example.com") { return alice }
        return try #require(try await server.users.create(email: "alice@example.com", name: "Alice", password: "correct horse battery"))
    }

    /// Runs `/authorize` and approval; returns the query of the redirect.
    func authorize(_ clientID: String, extra: [String: String] = [:], redirect: String = Harness.redirect) async throws -> [String: String] {
        var parameters = [
            "response_type": "code", "client_id": clientID, "redirect_uri": redirect, "code_challenge": Self.challenge,
            "code_challenge_method": "S256", "state": "s-1", "resource": Self.resource,
        ]
        parameters.merge(extra) { $1 }
        switch await server.checkAuthorization(FormParameters(parameters)) {
        case .valid(let request): return Self.query(try await server.approve(request, user: try await user()))
        case .redirect(let location): return Self.query(location)
        case .refused(let error): throw error
        }
    }

    func token(_ parameters: [String: String], authorization: String? = nil) async throws(OAuthError) -> [String: JSONValue] {
        try await server.token(FormParameters(parameters), authorization: authorization).objectValue ?? [:]
    }

    func redeem(_ code: String, clientID: String, verifier: String = Harness.verifier, redirect: String = Harness.redirect)
        async throws(OAuthError) -> [String: JSONValue]
    {
        try await token([
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "client_id": clientID,
            "redirect_uri": redirect,
        ])
    }

    func refresh(_ token: String, clientID: String, scope: String? = nil) async throws(OAuthError) -> [String: JSONValue] {
        var parameters = ["grant_type": "refresh_token", "refresh_token": token, "client_id": clientID]
        parameters["scope"] = scope
        return try await self.token(parameters)
    }

    static func query(_ url: String) -> [String: String] {
        Dictionary(
            (URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }
}

func expectOAuthError(_ code: OAuthError.Code, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation)
    async
{
    do {
        try await body()
        Issue.record("expected \(code.rawValue), got success", sourceLocation: sourceLocation)
    } catch let error as OAuthError {
        #expect(error.code == code, "\(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Authorization code flow")
struct AuthorizationCodeFlowTests {
    @Test func aCodeBecomesAVerifiableAccessToken() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let response = try await harness.authorize(client.id, extra: ["scope": "tools:read openid"])
        #expect(response["state"] == "s-1")
        #expect(response["iss"] == "http://127.0.0.1:8884")  // RFC 9207
        let tokens = try await harness.redeem(try #require(response["code"]), clientID: client.id)
        #expect(tokens["token_type"] == "Bearer")
        #expect(tokens["scope"] == "tools:read")  // unknown scopes are dropped, and the grant says so
        #expect(tokens["expires_in"] == 900)
        #expect(tokens["refresh_token"]?.stringValue?.hasPrefix("ghr_") == true)

        let principal = try await harness.server.tokenVerifier(logger: Logger(label: "test"))
            .verify(try #require(tokens["access_token"]?.stringValue))
        #expect(principal.email == "alice@example.com")
        #expect(principal.clientID == client.id)
        #expect(principal.scopes == ["tools:read"])
        #expect(principal.claims["aud"] == .string(Harness.resource))
    }

    @Test func aReplayedCodeIsRefusedAndRevokesWhatItIssued() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id)["code"])
        let first = try await harness.redeem(code, clientID: client.id)
        await expectOAuthError(.invalidGrant) { _ = try await harness.redeem(code, clientID: client.id) }
        await expectOAuthError(.invalidGrant) {
            _ = try await harness.refresh(try #require(first["refresh_token"]?.stringValue), clientID: client.id)
        }
    }

    @Test func aWrongVerifierSpendsTheCode() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id)["code"])
        await expectOAuthError(.invalidGrant) {
            _ = try await harness.redeem(code, clientID: client.id, verifier: String(repeating: "a", count: 43))
        }
        await expectOAuthError(.invalidGrant) { _ = try await harness.redeem(code, clientID: client.id) }
    }

    @Test func theRedirectURIMustBeTheSameAtTheTokenEndpoint() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id, redirect: "http://127.0.0.1:6000/callback")["code"])
        await expectOAuthError(.invalidGrant) {
            _ = try await harness.redeem(code, clientID: client.id, redirect: "http://127.0.0.1:7000/callback")
        }
    }

    @Test func codesExpireAfterAMinute() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id)["code"])
        harness.clock.advance(61)
        await expectOAuthError(.invalidGrant) { _ = try await harness.redeem(code, clientID: client.id) }
    }

    @Test func anotherClientCannotRedeemTheCode() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let thief = try await harness.register()
        let code = try #require(try await harness.authorize(client.id)["code"])
        await expectOAuthError(.invalidGrant) { _ = try await harness.redeem(code, clientID: thief.id) }
    }

    @Test func unknownResourcesAreInvalidTargetsSentBackWithIss() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let response = try await harness.authorize(client.id, extra: ["resource": "https://evil.example.com/mcp"])
        #expect(response["error"] == "invalid_target")
        #expect(response["iss"] == "http://127.0.0.1:8884")
        #expect(response["state"] == "s-1")
        #expect(response["code"] == nil)
    }

    @Test func aTrailingSlashNamesTheSameResource() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let response = try await harness.authorize(client.id, extra: ["resource": Harness.resource + "/"])
        #expect(response["code"] != nil)
    }

    @Test func pkceIsRequired() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        for extra in [["code_challenge_method": "plain"], ["code_challenge": ""]] {
            let response = try await harness.authorize(client.id, extra: extra)
            #expect(response["error"] == "invalid_request")
            #expect(response["iss"] != nil)
        }
    }

    @Test func untrustedClientsAndRedirectsAreNotRedirectedTo() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        await expectOAuthError(.invalidClient) { _ = try await harness.authorize("ghc_unknown") }
        await expectOAuthError(.invalidRequest) {
            _ = try await harness.authorize(client.id, redirect: "https://attacker.example.com/callback")
        }
        await expectOAuthError(.invalidRequest) {
            _ = try await harness.authorize(client.id, redirect: "http://localhost:5555/callback")
        }
    }

    @Test func repeatedParametersAreRefused() throws {
        let form = try #require(FormParameters(encoded: "code=a&code=b&state=x"))
        #expect(throws: OAuthError.self) { try form.value("code") }
        #expect(try form.value("state") == "x")
    }

    @Test func unsupportedGrantTypesAreNamed() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        await expectOAuthError(.unsupportedGrantType) {
            _ = try await harness.token(["grant_type": "password", "client_id": client.id])
        }
        await expectOAuthError(.invalidClient) {
            _ = try await harness.token(["grant_type": "authorization_code", "client_id": "ghc_nobody", "code": "x"])
        }
    }
}

@Suite("Refresh tokens")
struct RefreshTokenTests {
    private func login(_ harness: Harness) async throws -> (client: String, refresh: String) {
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id, extra: ["scope": "tools:read tools:write"])["code"])
        let tokens = try await harness.redeem(code, clientID: client.id)
        return (client.id, try #require(tokens["refresh_token"]?.stringValue))
    }

    @Test func everyRefreshRotatesTheToken() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        let second = try await harness.refresh(first, clientID: client)
        let next = try #require(second["refresh_token"]?.stringValue)
        #expect(next != first)
        #expect(second["access_token"] != nil)
        harness.clock.advance(5)
        _ = try await harness.refresh(next, clientID: client)
    }

    @Test func reuseAfterTheGraceRevokesTheFamily() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        let current = try #require(try await harness.refresh(first, clientID: client)["refresh_token"]?.stringValue)
        harness.clock.advance(11)
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(first, clientID: client) }
        // The legitimate holder's newer token died with the family.
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(current, clientID: client) }
    }

    @Test func aTokenPresentedAgainWithinTheGraceGetsTheSameSuccessor() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        let one = try await harness.refresh(first, clientID: client)
        harness.clock.advance(2)
        let two = try await harness.refresh(first, clientID: client)
        // One successor, never a fork: both answers carry it, each with its own access token.
        #expect(one["refresh_token"] == two["refresh_token"])
        #expect(one["access_token"] != two["access_token"])
        let successor = try #require(two["refresh_token"]?.stringValue)
        let next = try await harness.refresh(successor, clientID: client)
        // Once the successor has moved on, the first token gets nothing more, and revokes nothing.
        harness.clock.advance(1)
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(first, clientID: client) }
        _ = try await harness.refresh(try #require(next["refresh_token"]?.stringValue), clientID: client)
    }

    @Test func twentyConcurrentRefreshesLeaveOneSuccessor() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        let answers = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask { try? await harness.refresh(first, clientID: client)["refresh_token"]?.stringValue }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(answers.compactMap { $0 }.count == 20)
        #expect(Set(answers.compactMap { $0 }).count == 1)
        #expect(try await harness.store.refreshTokenCount() == 2)  // the first and its one successor
    }

    @Test func twoProcessesOnOneFileAlsoLeaveOneSuccessor() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        // A second connection pool on the same file, as another process would open it.
        let other = AuthorizationServer(
            settings: harness.server.settings, store: try SQLiteStore(path: harness.store.path), secrets: harness.secrets,
            now: harness.clock.function)
        let answers = await withTaskGroup(of: String?.self) { group in
            for index in 0..<20 {
                let server = index.isMultiple(of: 2) ? harness.server : other
                group.addTask {
                    let form = FormParameters(["grant_type": "refresh_token", "refresh_token": first, "client_id": client])
                    return try? await server.token(form, authorization: nil).objectValue?["refresh_token"]?.stringValue
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(answers.compactMap { $0 }.count == 20)
        #expect(Set(answers.compactMap { $0 }).count == 1)
        #expect(try await harness.store.refreshTokenCount() == 2)
    }

    @Test func theSuccessorIsStoredSealedAndForgottenAfterTheGrace() async throws {
        let harness = try Harness()
        let (client, first) = try await login(harness)
        let successor = try #require(try await harness.refresh(first, clientID: client)["refresh_token"]?.stringValue)
        let sealed = try #require(try await harness.store.sealedSuccessor(of: SecretToken.hash(first)))
        #expect(!sealed.contains(Data(successor.utf8)))
        #expect(sealed.starts(with: Data("GHS1".utf8)))
        harness.clock.advance(11)
        try await harness.server.purgeExpired()
        #expect(try await harness.store.sealedSuccessor(of: SecretToken.hash(first)) == nil)
    }

    @Test func anotherClientCannotUseTheToken() async throws {
        let harness = try Harness()
        let (client, token) = try await login(harness)
        let other = try await harness.register()
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(token, clientID: other.id) }
        _ = try await harness.refresh(token, clientID: client)  // nothing changed for the owner
    }

    @Test func scopesCanNarrowButNotWiden() async throws {
        let harness = try Harness(scopes: ["tools:read", "tools:write", "admin"])
        let (client, token) = try await login(harness)
        let narrowed = try await harness.refresh(token, clientID: client, scope: "tools:read")
        #expect(narrowed["scope"] == "tools:read")
        let next = try #require(narrowed["refresh_token"]?.stringValue)
        await expectOAuthError(.invalidScope) { _ = try await harness.refresh(next, clientID: client, scope: "admin") }
    }

    @Test func loginsEndAtTheAbsoluteLifetime() async throws {
        let harness = try Harness()
        let (client, token) = try await login(harness)
        harness.clock.advance(30 * 86_400 + 1)
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(token, clientID: client) }
    }

    @Test func clientsWithoutTheGrantTypeGetNoRefreshToken() async throws {
        let harness = try Harness()
        let client = try await harness.register(grantTypes: ["authorization_code"])
        let code = try #require(try await harness.authorize(client.id)["code"])
        let tokens = try await harness.redeem(code, clientID: client.id)
        #expect(tokens["refresh_token"] == nil)
    }

    @Test func revokingARefreshTokenEndsTheLogin() async throws {
        let harness = try Harness()
        let (client, token) = try await login(harness)
        try await harness.server.revoke(FormParameters(["token": token, "client_id": client]), authorization: nil)
        await expectOAuthError(.invalidGrant) { _ = try await harness.refresh(token, clientID: client) }
        // RFC 7009 §2.2: an unknown token is not an error.
        try await harness.server.revoke(FormParameters(["token": "nonsense", "client_id": client]), authorization: nil)
    }
}

@Suite("Client authentication and registration")
struct ClientAuthenticationTests {
    static func basic(_ id: String, _ secret: String) -> String {
        "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
    }

    @Test func confidentialClientsNeedTheirSecret() async throws {
        let harness = try Harness()
        let client = try await harness.register(authMethod: "client_secret_basic")
        let secret = try #require(client.secret)
        let code = try #require(try await harness.authorize(client.id)["code"])
        let parameters = [
            "grant_type": "authorization_code", "code": code, "code_verifier": Harness.verifier, "redirect_uri": Harness.redirect,
        ]
        await expectOAuthError(.invalidClient) {
            _ = try await harness.token(parameters, authorization: Self.basic(client.id, "wrong"))
        }
        await expectOAuthError(.invalidClient) { _ = try await harness.token(parameters.merging(["client_id": client.id]) { $1 }) }
        // RFC 6749 §2.3: one authentication method per request.
        await expectOAuthError(.invalidRequest) {
            _ = try await harness.token(
                parameters.merging(["client_secret": secret]) { $1 }, authorization: Self.basic(client.id, secret))
        }
    }

    @Test func publicClientsHaveNoSecret() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        #expect(client.secret == nil)
        await expectOAuthError(.invalidClient) {
            _ = try await harness.token(["grant_type": "refresh_token", "client_id": client.id, "client_secret": "guess"])
        }
    }

    @Test func introspectionNeedsAConfidentialClient() async throws {
        let harness = try Harness()
        let resourceServer = try await harness.register(authMethod: "client_secret_post")
        let app = try await harness.register()
        let code = try #require(try await harness.authorize(app.id)["code"])
        let tokens = try await harness.redeem(code, clientID: app.id)
        let verifier = harness.server.tokenVerifier(logger: Logger(label: "test"))
        let credentials = ["client_id": resourceServer.id, "client_secret": try #require(resourceServer.secret)]

        let active = try await harness.server.introspect(
            FormParameters(credentials.merging(["token": tokens["access_token"]!.stringValue!]) { $1 }), authorization: nil,
            verifier: verifier)
        #expect(active.objectValue?["active"] == true)
        #expect(active.objectValue?["client_id"] == .string(app.id))
        let refresh = try await harness.server.introspect(
            FormParameters(credentials.merging(["token": tokens["refresh_token"]!.stringValue!]) { $1 }), authorization: nil,
            verifier: verifier)
        #expect(refresh.objectValue?["active"] == true)
        let garbage = try await harness.server.introspect(
            FormParameters(credentials.merging(["token": "garbage"]) { $1 }), authorization: nil, verifier: verifier)
        #expect(garbage == ["active": false])
        await expectOAuthError(.invalidClient) {
            _ = try await harness.server.introspect(
                FormParameters(["client_id": app.id, "token": "x"]), authorization: nil, verifier: verifier)
        }
    }

    @Test func registrationsArePersisted() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let reopened = try SQLiteStore(path: harness.store.path)
        let stored = try #require(try await reopened.client(id: client.id))
        #expect(stored.metadata.redirectURIs.map(\.text) == [Harness.redirect])
        #expect(stored.metadata.clientName == "Test client")
        #expect(try await reopened.appliedMigrations() == ["v1-authorization-server", "v2-hub", "v3-refresh-successors-client-use", "v4-upstream-login", "v5-user-connections", "v6-connection-kinds"])
    }

    @Test func aRegistrationFloodIsBounded() async throws {
        let harness = try Harness()
        var outcomes: [String] = []
        for _ in 0..<25 {
            switch try await harness.server.registrar.register(
                ["redirect_uris": ["http://127.0.0.1/cb"]], from: "10.0.0.1")
            {
            case .registered: outcomes.append("ok")
            case .throttled(let retryAfter):
                #expect((1...60).contains(retryAfter))
                outcomes.append("throttled")
            case .refused(let error): Issue.record("refused: \(error)")
            }
        }
        #expect(outcomes.filter { $0 == "ok" }.count == 20)
        // Another address is not punished for the first one's flood.
        guard case .registered = try await harness.server.registrar.register(["redirect_uris": ["http://127.0.0.1/cb"]], from: "10.0.0.2")
        else { Issue.record("a second address was throttled"); return }
        harness.clock.advance(61)
        guard case .registered = try await harness.server.registrar.register(["redirect_uris": ["http://127.0.0.1/cb"]], from: "10.0.0.1")
        else { Issue.record("the window did not reset"); return }
    }

    @Test func thirtyFloodingAddressesDoNotLockOutANewClient() async throws {
        let harness = try Harness()
        let body: JSONValue = ["redirect_uris": ["http://127.0.0.1/cb"]]
        for address in 1...30 {
            for _ in 0..<25 { _ = try await harness.server.registrar.register(body, from: "10.0.1.\(address)") }
        }
        guard case .registered = try await harness.server.registrar.register(body, from: "10.0.2.1") else {
            Issue.record("a new address was locked out by others' flood")
            return
        }
    }

    @Test func anIPv6AddressCountsByItsSlash64() async throws {
        let harness = try Harness()
        let body: JSONValue = ["redirect_uris": ["http://127.0.0.1/cb"]]
        for host in 1...20 { _ = try await harness.server.registrar.register(body, from: "2001:db8:1:2::\(String(host, radix: 16))") }
        guard case .throttled = try await harness.server.registrar.register(body, from: "2001:db8:1:2:ffff::1") else {
            Issue.record("a fresh address in the same /64 got a fresh budget")
            return
        }
        guard case .registered = try await harness.server.registrar.register(body, from: "2001:db8:1:3::1") else {
            Issue.record("another /64 was throttled")
            return
        }
    }

    @Test func registrationsNeverUsedExpireAfterAnHour() async throws {
        let harness = try Harness()
        let unused = try await harness.register()
        let used = try await harness.register()
        _ = try await harness.authorize(used.id)
        harness.clock.advance(3601)
        try await harness.server.purgeExpired()
        #expect(try await harness.store.clientIDs() == [used.id])
        await expectOAuthError(.invalidClient) { _ = try await harness.server.clients.client(unused.id) }
    }

    @Test func passwordsAreHashedAndChecked() async throws {
        let harness = try Harness()
        let user = try await harness.user()
        let users = harness.server.users
        #expect(user.passwordHash?.hasPrefix("scrypt$") == true)
        #expect(try await users.signIn(email: "alice@example.com", password: "correct horse battery", from: "10.0.0.1") == .signedIn(user))
        #expect(try await users.signIn(email: "ALICE@example.com", password: "correct horse battery", from: "10.0.0.1") == .signedIn(user))
        #expect(try await users.signIn(email: "alice@example.com", password: "wrong", from: "10.0.0.1") == .refused(block: nil))
        #expect(try await users.signIn(email: "bob@example.com", password: "correct horse battery", from: "10.0.0.1") == .refused(block: nil))
    }

    @Test func anExistingUserIsChangedOnlyOnPurpose() async throws {
        let harness = try Harness()
        let user = try await harness.user()
        #expect(try await harness.server.users.create(email: "alice@example.com", name: "Mallory", password: "another password") == nil)
        #expect(try await harness.store.localUser(email: "alice@example.com") == user)
        let changed = try #require(try await harness.server.users.update(email: "alice@example.com", name: nil, password: "a new password"))
        #expect(changed.name == "Alice")
        #expect(try await harness.server.users.signIn(email: "alice@example.com", password: "a new password", from: "10.0.0.1") == .signedIn(changed))
        #expect(try await harness.server.users.update(email: "nobody@example.com", name: nil, password: "whatever1") == nil)
    }
}

@Suite("Signing keys")
struct SigningKeyRotationTests {
    @Test func tokensSignedBeforeARotationStillVerify() async throws {
        let harness = try Harness()
        let client = try await harness.register()
        let code = try #require(try await harness.authorize(client.id)["code"])
        let old = try #require(try await harness.redeem(code, clientID: client.id)["access_token"]?.stringValue)
        let oldKey = try await harness.server.keys.activeKey().keyID
        let newKey = try await harness.server.keys.rotate().keyID
        #expect(oldKey != newKey)

        let published = try await harness.server.keys.jwks().objectValue?["keys"]?.arrayValue?.compactMap { $0.objectValue?["kid"] }
        #expect(published == [.string(newKey), .string(oldKey)])
        _ = try await harness.server.tokenVerifier(logger: Logger(label: "test")).verify(old)

        // Once its tokens have expired, the old key is no longer published.
        harness.clock.advance(900 + 30 + 61)
        let later = try await harness.server.keys.jwks(forceReload: true).objectValue?["keys"]?.arrayValue
        #expect(later?.count == 1)
    }
}

@Suite("Signing keys at rest")
struct SealedSigningKeyTests {
    @Test func theStoredKeyIsAlwaysSealed() async throws {
        let harness = try Harness()
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let ring = KeyRing(store: harness.store, secrets: box, publishFor: 990)
        let key = try await ring.rotate()
        let stored = try #require(try await harness.store.signingKeys().first)
        #expect(stored.privateKey != key.rawRepresentation)
        #expect(stored.privateKey.starts(with: Data("GHS1".utf8)))
        // Another process with the same key reads it back; one with another key cannot, and says why.
        #expect(try await KeyRing(store: harness.store, secrets: box, publishFor: 990).activeKey().keyID == key.keyID)
        let stranger = SecretBox(key: SymmetricKey(size: .bits256))
        await #expect(throws: SecretBoxError.self) { _ = try await KeyRing(store: harness.store, secrets: stranger, publishFor: 990).activeKey() }
        // Rotating without the key changes nothing: no plaintext key slips in.
        await #expect(throws: SecretBoxError.self) { _ = try await KeyRing(store: harness.store, secrets: SecretBox(key: nil), publishFor: 990).rotate() }
        #expect(try await harness.store.signingKeys().count == 1)
    }

    @Test func keysStoredUnsealedByAnOlderVersionAreSealedOnLoad() async throws {
        let harness = try Harness()
        let plain = SigningKey()
        let unsealed = StoredSigningKey(keyID: plain.keyID, privateKey: plain.rawRepresentation, createdAt: Date())
        _ = try await harness.store.rotateSigningKeys(SigningKeyRotation(mode: .rotate, candidate: unsealed, publishFor: 990, now: Date()))
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        #expect(try await KeyRing(store: harness.store, secrets: box, publishFor: 990).activeKey().keyID == plain.keyID)
        let stored = try #require(try await harness.store.signingKeys().first)
        #expect(stored.privateKey.starts(with: Data("GHS1".utf8)))
        #expect(try box.openIfSealed(stored.privateKey, what: "key").plain == plain.rawRepresentation)
    }

    @Test func keysSealedWithTheKeyFileOpenOnceASecretKeyIsSetAndMoveToIt() async throws {
        let harness = try Harness()
        let file = harness.directory.appendingPathComponent("gatehouse.key").path
        let before = try SecretBox.authorizationServer(configuredKey: nil, keyFile: file)
        let key = try await KeyRing(store: harness.store, secrets: before, publishFor: 990).rotate()
        let secret = Data(Base64URL.randomBytes(32))
        let after = try SecretBox.authorizationServer(configuredKey: secret, keyFile: file)
        #expect(try await KeyRing(store: harness.store, secrets: after, publishFor: 990).activeKey().keyID == key.keyID)
        // Sealed again under the configured key: the key file alone no longer opens it.
        let stored = try #require(try await harness.store.signingKeys().first)
        #expect(try SecretBox(key: SymmetricKey(data: secret)).openIfSealed(stored.privateKey, what: "key").plain == key.rawRepresentation)
        #expect(throws: SecretBoxError.self) { _ = try before.openIfSealed(stored.privateKey, what: "key") }
    }

    @Test func theKeyFileIsCreatedOnceOwnerOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-keyfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let file = directory.appendingPathComponent("gatehouse.key").path
        let first = try SealingKeyFile.loadOrCreate(file)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try SealingKeyFile.loadOrCreate(file) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["gatehouse.key"])
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: SealingKeyFileError.self) { _ = try SealingKeyFile.load(file) }
    }
}

@Suite("Client ID Metadata Documents")
struct ClientIDMetadataDocumentTests {
    static let url = "https://app.example.com/oauth/client.json"

    @Test func theDocumentMustNameItsOwnURL() throws {
        let good: JSONValue = ["client_id": .string(Self.url), "redirect_uris": ["http://127.0.0.1/cb"], "client_name": "App"]
        let metadata = try ClientIDMetadataDocument.metadata(from: good, clientID: Self.url)
        #expect(metadata.authMethod == .none)
        #expect(throws: OAuthError.self) {
            try ClientIDMetadataDocument.metadata(from: ["client_id": "https://other.example.com/c.json", "redirect_uris": ["http://127.0.0.1/cb"]], clientID: Self.url)
        }
        #expect(throws: OAuthError.self) {
            try ClientIDMetadataDocument.metadata(
                from: ["client_id": .string(Self.url), "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"],
                clientID: Self.url)
        }
        #expect(throws: OAuthError.self) { try ClientIDMetadataDocument.metadata(from: ["client_id": .string(Self.url)], clientID: Self.url) }
    }

    @Test(arguments: ["http://app.example.com/c.json", "https://app.example.com", "https://app.example.com/", "https://u:p@app.example.com/c",
        "https://app.example.com/a/../c", "https://app.example.com/c#f"])
    func badClientIDURLsAreRefused(url: String) {
        #expect(throws: OAuthError.self) { try ClientIDMetadataDocument.validateURL(url, allowLoopbackHTTP: false) }
    }

    @Test(arguments: ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fe80::1",
        "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1"])
    func privateAddressesAreNotPublic(address: String) {
        #expect(!AddressPolicy.isPublic(address))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    func publicAddressesArePublic(address: String) {
        #expect(AddressPolicy.isPublic(address))
    }

    @Test func aClientIDOnLoopbackIsRefusedUnlessAllowed() async throws {
        let fetcher = ClientMetadataDocumentFetcher(allowPrivateAddresses: false)
        await expectOAuthError(.invalidClient) { _ = try await fetcher.client("https://localhost/client.json") }
    }
}
