import Foundation
import GatehouseHub
import Testing

/// What every ``HubStore`` must do, whatever keeps the data.
@Suite("HubStore conformance")
struct HubStoreConformance {
    static let alice = UserIdentity(
        issuer: "embedded", subject: "usr_a", email: "alice@example.com", name: "Alice", oauthProvider: "embedded", organizationID: "org")

    @Test(arguments: StoreBackend.all)
    func usersAreProvisionedOnceAndMergedWithWhatTokensSay(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let first = try await store.provisionUser(Self.alice, now: epoch)
        var sparse = Self.alice
        sparse.email = nil
        sparse.name = "Alice B."
        sparse.organizationID = nil
        let again = try await store.provisionUser(sparse, now: epoch + 60)
        #expect(again.id == first.id)
        #expect(again.identity == Self.alice.merging(into: Self.alice).with(name: "Alice B."))
        #expect(again.lastSeenAt == epoch + 60 && again.createdAt == epoch)
        try await store.touchUser(id: first.id, now: epoch + 120)
        let users = try await store.users()
        #expect(users.map(\.id) == [first.id] && users[0].lastSeenAt == epoch + 120)
    }

    @Test(arguments: StoreBackend.all)
    func toolsActivateOnceAndTakeOnlyTheirDeclaredDataWithThem(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let user = try await store.provisionUser(Self.alice, now: epoch).id
        #expect(try await store.activateTool(userID: user, name: "notes", configuration: "{}", now: epoch))
        #expect(try await store.activateTool(userID: user, name: "notes", configuration: #"{"x":1}"#, now: epoch) == false)
        #expect(try await store.activateTool(userID: user, name: "memory", configuration: "{}", now: epoch))
        #expect(try await store.configureTool(userID: user, name: "notes", configuration: #"{"max_notes":5}"#, now: epoch + 1))
        #expect(try await store.configureTool(userID: user, name: "http_fetch", configuration: "{}", now: epoch) == false)
        #expect(try await store.activeTools(userID: user).map(\.configuration) == [#"{"max_notes":5}"#, "{}"])
        _ = try await store.addNote(userID: user, text: "n", quota: Quota(limit: 10), now: epoch)
        _ = try await store.remember(userID: user, key: "k", value: "v", quota: Quota(limit: 10), now: epoch)
        #expect(try await store.deactivateTool(userID: user, name: "notes", deleting: [.notes]))
        #expect(try await store.deactivateTool(userID: user, name: "notes", deleting: [.notes]) == false)
        #expect(try await store.notes(userID: user, limit: 10).isEmpty)
        #expect(try await store.recall(userID: user, key: "k") == "v")  // memory was not the removed tool's data
        #expect(try await store.activeTools(userID: user).map(\.name) == ["memory"])
    }

    @Test(arguments: StoreBackend.all)
    func quotasHoldUnderConcurrentWrites(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let user = try await store.provisionUser(Self.alice, now: epoch).id
        let added = try await concurrently(20) { index in
            try await store.addNote(userID: user, text: "note \(index)", quota: Quota(limit: 5), now: epoch)
        }
        #expect(added.compactMap { $0 }.count == 5)
        #expect(try await store.notes(userID: user, limit: 100).count == 5)
        let remembered = try await concurrently(20) { index in
            try await store.remember(userID: user, key: "k\(index)", value: "v", quota: Quota(limit: 3), now: epoch)
        }
        #expect(remembered.filter { $0 }.count == 3)
        // Replacing a key the user has is not one more.
        let existing = try #require(try await store.memoryKeys(userID: user).first)
        #expect(try await store.remember(userID: user, key: existing, value: "new", quota: Quota(limit: 3), now: epoch))
        #expect(try await store.recall(userID: user, key: existing) == "new")
    }
}

extension UserIdentity {
    func with(name: String) -> UserIdentity {
        var copy = self
        copy.name = name
        return copy
    }
}
