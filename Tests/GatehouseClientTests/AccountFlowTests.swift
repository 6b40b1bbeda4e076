import Crypto
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
@testable import GatehouseHub
import GatehouseMCP
import GatehouseSQLite
import Testing

@testable import GatehouseClient

/// A hub user's account at an OAuth provider the operator set up (here a live `gatehouse hub`'s
/// embedded authorization server with auto-approval, found by discovery from its issuer, with
/// the hub registered as a client): a tool asks for the account, the user signs in, the tool's
/// requests carry the user's token to the provider's API hosts only, missing scopes are asked
/// for, and a token the provider stops taking asks the user to sign in again.
@Suite("Accounts at the operator's OAuth providers")
struct AccountFlowTests {
    static let callback = "http://127.0.0.1:9/connect/callback"

    /// The hub's side, on a fresh SQLite store, with one provider: the server at `mcpURL`.
    struct Hub {
        let store: SQLiteStore
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let userID: Int64
        let access: AccountAccess
        let signIn: ConnectionSignIn
        let links: ConnectLinks

        init(mcpURL: String) async throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-accounts-\(UUID().uuidString)/hub.db").path
            store = try SQLiteStore(path: path)
            userID = try await store.provisionUser(ConnectionFlowTests.alice, now: Date()).id
            let origin = try #require(URLComponents(string: mcpURL).flatMap { "\($0.scheme!)://\($0.host!):\($0.port!)" })
            let registration = try await ClientRegistration.register(
                at: origin + "/register", clientName: "hub under test", redirectURI: AccountFlowTests.callback, applicationType: "web",
                http: .clientDefault)
            let provider = AccountProvider(
                name: "remote", title: "Remote", endpoints: .discovered(issuer: origin), clientID: registration.clientID,
                clientSecret: registration.clientSecret.map(SecretString.init), scopes: ["unknown:scope"], apiHosts: [String(origin.dropFirst("http://".count))],
                resource: mcpURL)
            let providers = AccountProviders([provider])
            links = ConnectLinks(secrets: secrets, pageURL: "http://127.0.0.1:9/connect")
            let tokens = ConnectionTokens(store: store, secrets: secrets, accounts: providers)
            access = AccountAccess(providers: providers, store: store, secrets: secrets, tokens: tokens, links: links)
            signIn = ConnectionSignIn(store: store, secrets: secrets, settings: .init(callbackURL: AccountFlowTests.callback), accounts: providers)
        }

        /// What the user's browser does with a connect link: the provider auto-approves, and
        /// the hub's callback finishes the sign-in.
        func follow(_ elicitation: URLElicitationRequired) async throws {
            let sealed = try #require(URLComponents(string: elicitation.url)?.queryItems?.first { $0.name == "request" }?.value)
            let request = try links.open(sealed)
            #expect(request.userID == userID && request.name == "remote")
            let authorizationURL = try await signIn.begin(userID: userID, name: "remote", scopes: request.scopes)
            let answer = try await EgressClient.clientDefault.send(authorizationURL)
            let location = try #require(answer.headers.first(name: "Location"))
            let query = try #require(URLComponents(string: location)?.queryItems)
            _ = try await signIn.finish(parameters: Dictionary(query.map { ($0.name, $0.value ?? "") }) { first, _ in first }, browserUserID: userID)
        }

        /// The elicitation `body` throws.
        func elicitation(_ body: () async throws -> Void) async throws -> URLElicitationRequired {
            do {
                try await body()
            } catch let asked as URLElicitationRequired {
                return asked
            }
            Issue.record("no elicitation")
            throw ToolError("no elicitation")
        }
    }

    @Test func aToolAsksForTheAccountThenSendsTheUsersTokenToTheProvidersAPIOnly() async throws {
        // The provider offers notes:write (a tool of its needs it); the account asks for another
        // scope at first, so its first token lacks notes:write.
        let notes = MCPTool(name: "write_note", description: "Writes a note.", inputSchema: ["type": "object"], requiredScopes: ["notes:write"]) { _, _ in
            .text("written")
        }
        try await ClientFlowTests().withHub(tools: BuiltinTools.all + [notes]) { mcpURL in
            let hub = try await Hub(mcpURL: mcpURL)
            // Not connected: the tool asks, and the account is added, waiting for the sign-in.
            let asked = try await hub.elicitation { _ = try await hub.access.token(userID: hub.userID, account: "remote") }
            #expect(asked.message.contains("Connect your Remote account"))
            #expect(try await hub.store.connection(userID: hub.userID, name: "remote")?.kind == .account)
            try await hub.follow(asked)

            // Connected: the token is the user's at the provider, sent with the request.
            let token = try await hub.access.token(userID: hub.userID, account: "remote")
            #expect(try await ConnectionFlowTests.whoami(mcpURL, token: token).contains("dev@localhost"))
            let origin = String(mcpURL.dropLast("/mcp".count))
            let metadata = try await hub.access.get(origin + "/.well-known/oauth-protected-resource/mcp", userID: hub.userID, account: "remote", http: .clientDefault)
            #expect(metadata.status == 200)
            // Never to another host.
            await #expect(throws: ToolError.self) {
                _ = try await hub.access.get("http://127.0.0.2:9/x", userID: hub.userID, account: "remote", http: .clientDefault)
            }

            // A scope the login lacks is asked for, with those it has, and granted on the new sign-in.
            let more = try await hub.elicitation { _ = try await hub.access.token(userID: hub.userID, account: "remote", scopes: ["notes:write"]) }
            #expect(more.message.contains("needs more of your Remote account: notes:write"))
            try await hub.follow(more)
            let login = try ConnectionVault(secrets: hub.secrets).openLogin(
                try #require(try await hub.store.connection(userID: hub.userID, name: "remote")?.sealedLogin))
            #expect(login.scopes.contains("notes:write"))
            #expect(try await !hub.access.token(userID: hub.userID, account: "remote", scopes: ["notes:write"]).isEmpty)

            // The provider stops taking the token (401) and refuses its refresh: the user is asked
            // to sign in again, and the account waits for it.
            var spoilt = login
            (spoilt.accessToken, spoilt.refreshToken, spoilt.expiresAt) = ("not-a-token", "not-a-refresh-token", Date().addingTimeInterval(600))
            _ = try await hub.store.saveLogin(
                userID: hub.userID, name: "remote", sealedLogin: try ConnectionVault(secrets: hub.secrets).seal(spoilt), status: .connected, claim: nil,
                now: Date())
            let again = try await hub.elicitation { _ = try await hub.access.get(mcpURL, userID: hub.userID, account: "remote", http: .clientDefault) }
            #expect(again.message.contains("needs you to sign in to it again"))
            #expect(try await hub.store.connection(userID: hub.userID, name: "remote")?.status == .reconnectNeeded)

            // An account the hub does not offer is a tool error naming those it does.
            await #expect(throws: ToolError.self) { _ = try await hub.access.token(userID: hub.userID, account: "elsewhere") }
        }
    }

    @Test func providerHostsMatchExactlyOrAsSubdomains() {
        let google = AccountProvider(
            name: "google", title: "Google", endpoints: .fixed(authorize: "https://a", token: "https://t"), clientID: "c", clientSecret: nil,
            scopes: [], apiHosts: ["*.googleapis.com", "api.example.com", "127.0.0.1:8080"])
        #expect(google.sendsToken(toHost: "www.googleapis.com", port: nil))
        #expect(google.sendsToken(toHost: "API.example.com", port: nil))
        #expect(google.sendsToken(toHost: "127.0.0.1", port: 8080))
        #expect(!google.sendsToken(toHost: "googleapis.com.evil.example", port: nil))
        #expect(!google.sendsToken(toHost: "evilgoogleapis.com", port: nil))
        #expect(!google.sendsToken(toHost: "127.0.0.1", port: 8081))
        #expect(!google.sendsToken(toHost: "api.example.com.evil", port: nil))
    }
}
