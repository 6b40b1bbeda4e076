import Foundation
import GatehouseHub
import Testing

/// What every ``ConnectionStore`` must do, whatever keeps the data.
@Suite("ConnectionStore conformance")
struct ConnectionStoreConformance {
    static let alice = UserIdentity(issuer: "embedded", subject: "usr_a", email: "a@example.com", name: nil, oauthProvider: "embedded", organizationID: nil)
    static let bob = UserIdentity(issuer: "embedded", subject: "usr_b", email: "b@example.com", name: nil, oauthProvider: "embedded", organizationID: nil)

    static func connection(_ userID: Int64, _ name: String) -> UserConnection {
        UserConnection(userID: userID, name: name, serverURL: "https://\(name).example.com/mcp", createdAt: epoch, updatedAt: epoch)
    }

    @Test(arguments: StoreBackend.all)
    func connectionsBelongToOneUserAndAreAddedOncePerNameWithinTheLimit(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let alice = try await store.provisionUser(Self.alice, now: epoch).id
        let bob = try await store.provisionUser(Self.bob, now: epoch).id
        #expect(try await store.addConnection(Self.connection(alice, "linear"), limit: 2))
        #expect(try await !store.addConnection(Self.connection(alice, "linear"), limit: 2), "a name is added once")
        #expect(try await store.addConnection(Self.connection(alice, "github"), limit: 2))
        #expect(try await !store.addConnection(Self.connection(alice, "sentry"), limit: 2), "past the limit")
        #expect(try await store.addConnection(Self.connection(bob, "linear"), limit: 2), "another user's names are their own")
        #expect(try await store.connections(userID: alice).map(\.name) == ["github", "linear"])
        #expect(try await store.connection(userID: bob, name: "linear") == Self.connection(bob, "linear"))
        #expect(try await store.connection(userID: bob, name: "github") == nil)

        // Concurrent additions by one user still stop at the limit.
        let added = try await concurrently(12) { index in try await store.addConnection(Self.connection(bob, "server\(index)"), limit: 5) }
        #expect(added.filter { $0 }.count == 4)
        #expect(try await store.connections(userID: bob).count == 5)
    }

    @Test(arguments: StoreBackend.all)
    func accountsAreKeptWithTheirKindAndCountedApartFromServers(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let alice = try await store.provisionUser(Self.alice, now: epoch).id
        #expect(try await store.addConnection(Self.connection(alice, "linear"), limit: 1))
        #expect(try await !store.addConnection(Self.connection(alice, "sentry"), limit: 1), "past the servers' limit")
        let account = UserConnection(userID: alice, name: "github", kind: .account, serverURL: "", createdAt: epoch, updatedAt: epoch)
        #expect(try await store.addConnection(account, limit: 1), "accounts count apart from servers")
        #expect(try await store.connection(userID: alice, name: "github") == account)
        #expect(try await store.connections(userID: alice).map(\.kind) == [.account, .mcpServer])
        let second = UserConnection(userID: alice, name: "google", kind: .account, serverURL: "", createdAt: epoch, updatedAt: epoch)
        #expect(try await !store.addConnection(second, limit: 1), "past the accounts' limit")
    }

    @Test(arguments: StoreBackend.all)
    func aSignInIsSavedAndARefreshOnlyUnderItsClaim(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let alice = try await store.provisionUser(Self.alice, now: epoch).id
        _ = try await store.addConnection(Self.connection(alice, "linear"), limit: 10)
        #expect(try await store.saveLogin(userID: alice, name: "linear", sealedLogin: "sealed-1", status: .connected, claim: nil, now: epoch + 1))
        #expect(try await !store.saveLogin(userID: alice, name: "other", sealedLogin: "x", status: .connected, claim: nil, now: epoch + 1))
        let saved = try #require(try await store.connection(userID: alice, name: "linear"))
        #expect(saved.status == .connected && saved.sealedLogin == "sealed-1" && saved.updatedAt == epoch + 1)

        // One claim at a time, across callers, until its lease lapses.
        let claims = try await concurrently(10) { index in
            try await store.claimRefresh(userID: alice, name: "linear", claim: "claim\(index)", now: epoch + 10, until: epoch + 40)
        }
        #expect(claims.compactMap { $0 }.count == 1)
        #expect(claims.compactMap { $0 }.first?.sealedLogin == "sealed-1")
        #expect(try await store.claimRefresh(userID: alice, name: "linear", claim: "late", now: epoch + 39, until: epoch + 60) == nil)
        #expect(try await store.claimRefresh(userID: alice, name: "nothing", claim: "c", now: epoch + 10, until: epoch + 40) == nil)

        // Its holder died: the lease lapsed, a new claim is granted, and the old one saves nothing.
        #expect(try await store.claimRefresh(userID: alice, name: "linear", claim: "second", now: epoch + 41, until: epoch + 71) != nil)
        for index in 0..<10 {
            #expect(try await !store.saveLogin(userID: alice, name: "linear", sealedLogin: "stale", status: .connected, claim: "claim\(index)", now: epoch + 42))
        }
        #expect(try await store.saveLogin(userID: alice, name: "linear", sealedLogin: "sealed-2", status: .connected, claim: "second", now: epoch + 43))
        #expect(try await !store.saveLogin(userID: alice, name: "linear", sealedLogin: "again", status: .connected, claim: "second", now: epoch + 44),
            "a claim is used once")

        // A new sign-in supersedes a refresh in flight: the refresh's answer is not saved over it.
        #expect(try await store.claimRefresh(userID: alice, name: "linear", claim: "third", now: epoch + 50, until: epoch + 80) != nil)
        #expect(try await store.saveLogin(userID: alice, name: "linear", sealedLogin: "signed-in", status: .connected, claim: nil, now: epoch + 51))
        #expect(try await !store.saveLogin(userID: alice, name: "linear", sealedLogin: "old", status: .connected, claim: "third", now: epoch + 52))
        #expect(try await store.saveLogin(userID: alice, name: "linear", sealedLogin: nil, status: .reconnectNeeded, claim: nil, now: epoch + 53))
        let last = try #require(try await store.connection(userID: alice, name: "linear"))
        #expect(last.status == .reconnectNeeded && last.sealedLogin == nil)
    }

    @Test(arguments: StoreBackend.all)
    func aPendingSignInIsTakenOnceBeforeItExpiresAndGoesWithItsConnection(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let alice = try await store.provisionUser(Self.alice, now: epoch).id
        _ = try await store.addConnection(Self.connection(alice, "linear"), limit: 10)
        let pending = PendingConnect(stateHash: "h1", userID: alice, name: "linear", sealedAuthorization: "sealed", expiresAt: epoch + 600)
        try await store.insertPendingConnect(pending)
        let taken = try await concurrently(8) { _ in try await store.takePendingConnect(stateHash: "h1", now: epoch + 1) }
        #expect(taken.compactMap { $0 } == [pending], "taken once")

        try await store.insertPendingConnect(PendingConnect(stateHash: "h2", userID: alice, name: "linear", sealedAuthorization: "s", expiresAt: epoch + 600))
        #expect(try await store.takePendingConnect(stateHash: "h2", now: epoch + 600) == nil, "expired")
        #expect(try await store.takePendingConnect(stateHash: "h2", now: epoch) == nil, "and gone")

        try await store.insertPendingConnect(PendingConnect(stateHash: "h3", userID: alice, name: "linear", sealedAuthorization: "s", expiresAt: epoch + 600))
        #expect(try await store.removeConnection(userID: alice, name: "linear"))
        #expect(try await !store.removeConnection(userID: alice, name: "linear"))
        #expect(try await store.takePendingConnect(stateHash: "h3", now: epoch) == nil, "removed with its connection")
        #expect(try await store.connections(userID: alice).isEmpty)
    }
}
