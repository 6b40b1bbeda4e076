import Foundation
import GatehouseOAuth
import Testing

/// What every ``AuthorizationStore`` must do for sign-ins through an upstream provider.
@Suite("AuthorizationStore conformance: upstream sign-in")
struct UpstreamLoginStoreConformance {
    private let ada = UpstreamIdentity(issuer: "https://idp.example", subject: "ada", email: "ada@example.com", name: "Ada")

    @Test(arguments: StoreBackend.all)
    func anIdentityIsOneUserWhoseProfileFollowsTheProvider(backend: StoreBackend) async throws {
        let store = try await backend.make()
        guard case .user(let created) = try await store.provisionUpstreamUser(ada, newUserID: "usr_a", now: epoch) else {
            Issue.record("the first sign-in must create the user")
            return
        }
        #expect(created.id == "usr_a" && created.email == "ada@example.com" && created.passwordHash == nil)
        var renamed = ada
        renamed.name = "Ada Lovelace"
        renamed.email = "countess@example.com"
        let again = try await store.provisionUpstreamUser(renamed, newUserID: "usr_unused", now: epoch + 60)
        #expect(again == .user(LocalUser(id: "usr_a", email: "countess@example.com", name: "Ada Lovelace", passwordHash: nil, createdAt: epoch)))
        #expect(try await store.localUserCount() == 1)
    }

    @Test(arguments: StoreBackend.all)
    func accountsAreNeverJoinedByEmail(backend: StoreBackend) async throws {
        let store = try await backend.make()
        _ = try await store.insertLocalUser(LocalUser(id: "usr_pw", email: "ADA@example.com", name: nil, passwordHash: "x", createdAt: epoch))
        #expect(try await store.provisionUpstreamUser(ada, newUserID: "usr_a", now: epoch) == .emailTaken("ada@example.com"))
        #expect(try await store.localUserCount() == 1)
        // Two identities without email get distinct placeholder addresses, not a clash.
        let first = try await store.provisionUpstreamUser(
            UpstreamIdentity(issuer: "https://github.com", subject: "1", email: nil, name: "one"), newUserID: "usr_1", now: epoch)
        let second = try await store.provisionUpstreamUser(
            UpstreamIdentity(issuer: "https://github.com", subject: "2", email: nil, name: "two"), newUserID: "usr_2", now: epoch)
        guard case .user(let one) = first, case .user(let two) = second else {
            Issue.record("identities without email must still be provisioned")
            return
        }
        #expect(one.email != two.email)
    }

    @Test(arguments: StoreBackend.all)
    func aRoundTripIsTakenOnceEvenConcurrently(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let login = PendingLogin(stateHash: "s1", sealedRequest: "sealed", sealedSecrets: Data([1, 2, 3]), expiresAt: epoch + 600)
        try await store.insertPendingLogin(login)
        let taken = try await concurrently(10) { _ in try await store.takePendingLogin(stateHash: "s1") }
        #expect(taken.compactMap { $0 } == [login])
        try await store.insertPendingLogin(PendingLogin(stateHash: "old", sealedRequest: "x", sealedSecrets: Data(), expiresAt: epoch))
        try await store.purge(
            PurgeCutoffs(expiredBefore: epoch + 1, successorsRotatedBefore: epoch, unusedClientsRegisteredBefore: epoch, loginSessionsCreatedBefore: epoch))
        #expect(try await store.takePendingLogin(stateHash: "old") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func loginSessionsKeepTheirTokensAndGrantsNameThem(backend: StoreBackend) async throws {
        let store = try await backend.make()
        guard case .user(let user) = try await store.provisionUpstreamUser(ada, newUserID: "usr_a", now: epoch) else { return }
        let session = LoginSession(id: "lgn_1", userID: user.id, organizationID: "org_1", sealedTokens: Data([9]), createdAt: epoch, checkedAt: epoch)
        try await store.insertLoginSession(session)
        try await store.updateLoginSession(id: "lgn_1", sealedTokens: Data([8]), checkedAt: epoch + 5)
        #expect(try await store.loginSession(id: "lgn_1")?.sealedTokens == Data([8]))
        #expect(try await store.loginSession(id: "lgn_1")?.checkedAt == epoch + 5)
        var linked = grant(subject: user.id)
        linked.loginSessionID = "lgn_1"
        try await store.insertCode(AuthorizationCodeRecord(hash: "c", grant: linked, redirectURI: nil, codeChallenge: "x", expiresAt: epoch + 60))
        guard case .redeem(let record) = try await store.presentCode(hash: "c", to: CodeUse(familyID: "fam", now: epoch)) else {
            Issue.record("the code must redeem")
            return
        }
        #expect(record.grant.loginSessionID == "lgn_1")
        try await store.purge(
            PurgeCutoffs(expiredBefore: epoch, successorsRotatedBefore: epoch, unusedClientsRegisteredBefore: epoch, loginSessionsCreatedBefore: epoch + 1))
        #expect(try await store.loginSession(id: "lgn_1") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func consentsAreRememberedPerUserAndClient(backend: StoreBackend) async throws {
        let store = try await backend.make()
        guard case .user(let user) = try await store.provisionUpstreamUser(ada, newUserID: "usr_a", now: epoch) else { return }
        let consent = Consent(userID: user.id, clientID: "c1", redirectURI: "http://127.0.0.1/cb", resource: "r", scopes: ["a"], grantedAt: epoch)
        try await store.recordConsent(consent)
        var wider = consent
        wider.scopes = ["a", "b"]
        try await store.recordConsent(wider)
        #expect(try await store.consent(userID: user.id, clientID: "c1") == wider)
        #expect(try await store.consent(userID: user.id, clientID: "c2") == nil)
    }
}
