import Crypto
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
@testable import GatehouseHub
import GatehouseSQLite
import Testing

@testable import GatehouseClient

/// A hub user's connection to a remote MCP server (here a live `gatehouse hub` with its embedded
/// authorization server and auto-approval): the hub registers, sends the "browser" to the
/// server's authorization endpoint, finishes on its own callback, keeps the tokens sealed, and
/// refreshes them once for concurrent callers.
@Suite("Connections to a user's MCP servers")
struct ConnectionFlowTests {
    static let callback = "http://127.0.0.1:9/connect/callback"
    static let alice = UserIdentity(issuer: "embedded", subject: "usr_a", email: "a@example.com", name: nil, oauthProvider: "embedded", organizationID: nil)

    /// What the hub keeps, on a fresh SQLite store.
    struct Hub {
        let store: SQLiteStore
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let userID: Int64

        init(serverURL: String) async throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-connections-\(UUID().uuidString)/hub.db").path
            store = try SQLiteStore(path: path)
            userID = try await store.provisionUser(ConnectionFlowTests.alice, now: Date()).id
            let now = Date()
            _ = try await store.addConnection(
                UserConnection(userID: userID, name: "remote", serverURL: serverURL, createdAt: now, updatedAt: now), limit: 10)
        }

        var signIn: ConnectionSignIn {
            ConnectionSignIn(store: store, secrets: secrets, settings: .init(callbackURL: ConnectionFlowTests.callback))
        }

        func tokens() -> ConnectionTokens { ConnectionTokens(store: store, secrets: secrets) }

        var vault: ConnectionVault { ConnectionVault(secrets: secrets) }

        /// Replaces the connection's login, as a test of what the server does with it.
        func save(_ login: StoredLogin) async throws {
            _ = try await store.saveLogin(
                userID: userID, name: "remote", sealedLogin: try vault.seal(login), status: .connected, claim: nil, now: Date())
        }

        /// The browser: the server auto-approves with a 303 to the hub's callback, whose query
        /// the hub's callback route would hand to `finish`.
        func connect() async throws -> UserConnection {
            try await signIn.finish(parameters: try await browse(try await signIn.begin(userID: userID, name: "remote")), browserUserID: userID)
        }

        /// The query the browser brings back to the callback from `authorizationURL`.
        func browse(_ authorizationURL: String) async throws -> [String: String] {
            let answer = try await EgressClient.clientDefault.send(authorizationURL)
            let location = try #require(answer.headers.first(name: "Location"))
            #expect(location.hasPrefix(ConnectionFlowTests.callback + "?"))
            let query = try #require(URLComponents(string: location)?.queryItems)
            return Dictionary(query.map { ($0.name, $0.value ?? "") }) { first, _ in first }
        }
    }

    /// Calls `whoami` on the remote server with `token` (2026-07-28, stateless).
    static func whoami(_ serverURL: String, token: String) async throws -> String {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
        let response = try await EgressClient.clientDefault.send(
            serverURL, method: .POST,
            headers: [
                ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "whoami"),
            ],
            body: Data(body.utf8))
        #expect(response.status == 200)
        return String(decoding: response.body, as: UTF8.self)
    }

    @Test func aUserConnectsAndTheHubCallsTheServerWithTheirTokens() async throws {
        try await ClientFlowTests().withHub { url in
            let hub = try await Hub(serverURL: url)
            let connection = try await hub.connect()
            #expect(connection.status == .connected)
            let sealed = try #require(connection.sealedLogin)
            guard case .token(let token) = try await hub.tokens().access(userID: hub.userID, name: "remote") else {
                Issue.record("no token after connecting")
                return
            }
            #expect(!sealed.contains(token), "the token is kept sealed")
            #expect(try await Self.whoami(url, token: token).contains("dev@localhost"))

            // The callback's answer is used once.
            let parameters = try await hub.browse(try await hub.signIn.begin(userID: hub.userID, name: "remote"))
            _ = try await hub.signIn.finish(parameters: parameters, browserUserID: hub.userID)
            await #expect(throws: ConnectionError.self) { _ = try await hub.signIn.finish(parameters: parameters, browserUserID: hub.userID) }
            var forged = parameters
            forged["state"] = "made-up"
            await #expect(throws: ConnectionError.self) { _ = try await hub.signIn.finish(parameters: forged, browserUserID: hub.userID) }

            // A sign-in begun for this user, finished in another user's browser, is refused and used up.
            let other = try await hub.browse(try await hub.signIn.begin(userID: hub.userID, name: "remote"))
            await #expect(throws: ConnectionError.self) { _ = try await hub.signIn.finish(parameters: other, browserUserID: hub.userID + 1) }
            await #expect(throws: ConnectionError.self) { _ = try await hub.signIn.finish(parameters: other, browserUserID: hub.userID) }
        }
    }

    @Test func concurrentCallersNearExpiryShareOneRefresh() async throws {
        try await ClientFlowTests().withHub { url in
            let hub = try await Hub(serverURL: url)
            let connection = try await hub.connect()
            // The access token has expired: every caller finds it so; one refreshes, the others wait for it.
            var login = try hub.vault.openLogin(try #require(connection.sealedLogin))
            let first = try #require(login.accessToken)
            login.expiresAt = Date().addingTimeInterval(-10)
            try await hub.save(login)
            let tokens = hub.tokens()
            let accesses = try await withThrowingTaskGroup(of: ConnectionTokens.Access.self) { group in
                for _ in 0..<8 { group.addTask { try await tokens.access(userID: hub.userID, name: "remote") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let handedOut = Set(accesses.compactMap { if case .token(let token) = $0 { token } else { nil } })
            #expect(handedOut.count == 1 && !handedOut.contains(first), "\(accesses)")
            #expect(try await Self.whoami(url, token: try #require(handedOut.first)).contains("dev@localhost"))
        }
    }

    @Test func aRefusedRefreshAsksTheUserToSignInAgain() async throws {
        try await ClientFlowTests().withHub { url in
            let hub = try await Hub(serverURL: url)
            let connection = try await hub.connect()
            // The server forgets the grant: the stored refresh token is replaced by one it never
            // issued, and the access token has expired.
            var login = try hub.vault.openLogin(try #require(connection.sealedLogin))
            login.refreshToken = "not-a-refresh-token"
            login.expiresAt = Date().addingTimeInterval(-10)
            try await hub.save(login)
            guard case .reconnectNeeded(let reason) = try await hub.tokens().access(userID: hub.userID, name: "remote") else {
                Issue.record("a refused refresh still gave a token")
                return
            }
            #expect(reason.contains("sign in to it again"))
            #expect(try await hub.store.connection(userID: hub.userID, name: "remote")?.status == .reconnectNeeded)
            // Signing in again reuses the client registration and connects.
            #expect(try await hub.connect().status == .connected)
        }
    }
}
