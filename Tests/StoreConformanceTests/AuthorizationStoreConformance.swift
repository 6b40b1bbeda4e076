import Foundation
import GatehouseOAuth
import Testing

/// What every ``AuthorizationStore`` must do, whatever keeps the data.
@Suite("AuthorizationStore conformance")
struct AuthorizationStoreConformance {
    private func client(_ id: String, at date: Date = epoch) throws -> RegisteredClient {
        RegisteredClient(
            id: id, secretHash: nil, metadata: try ClientMetadata(registration: ["redirect_uris": ["http://127.0.0.1/cb"]]), registeredAt: date)
    }

    @Test(arguments: StoreBackend.all)
    func clientsRoundTripAndUnusedOnesArePurged(backend: StoreBackend) async throws {
        let store = try await backend.make()
        try await store.insertClient(try client("used"))
        try await store.insertClient(try client("unused"))
        try await store.insertClient(try client("recent", at: epoch + 3000))
        #expect(try await store.client(id: "used") == (try client("used")))
        #expect(try await store.client(id: "nobody") == nil)
        try await store.recordClientUse(id: "used", now: epoch + 10)
        try await store.purge(PurgeCutoffs(expiredBefore: epoch, successorsRotatedBefore: epoch, unusedClientsRegisteredBefore: epoch + 3600, loginSessionsCreatedBefore: epoch))
        #expect(try await store.client(id: "used") != nil)
        #expect(try await store.client(id: "unused") == nil)
        #expect(try await store.client(id: "recent") == nil)
        try await store.insertClient(try client("later", at: epoch + 7200))
        try await store.purge(PurgeCutoffs(expiredBefore: epoch, successorsRotatedBefore: epoch, unusedClientsRegisteredBefore: epoch + 3600, loginSessionsCreatedBefore: epoch))
        #expect(try await store.client(id: "later") != nil)
    }

    @Test(arguments: StoreBackend.all)
    func aCodeIsRedeemedOnceEvenWhenPresentedConcurrently(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let code = AuthorizationCodeRecord(hash: "h1", grant: grant(), redirectURI: nil, codeChallenge: "x", expiresAt: epoch + 60)
        try await store.insertCode(code)
        let decisions = try await concurrently(20) { index in
            try await store.presentCode(hash: "h1", to: CodeUse(familyID: "fam_\(index)", now: epoch))
        }
        let redeemed = decisions.filter { if case .redeem = $0 { true } else { false } }
        #expect(redeemed == [.redeem(code)])
        // Every replay names the family of the one use that won.
        let families = Set(decisions.compactMap { decision -> String? in
            if case .replayed(let family) = decision { return family } else { return nil }
        })
        #expect(families.count == 1)
        #expect(try await store.presentCode(hash: "nope", to: CodeUse(familyID: "f", now: epoch)) == .unknown)
        try await store.insertCode(AuthorizationCodeRecord(hash: "old", grant: grant(), redirectURI: nil, codeChallenge: "x", expiresAt: epoch))
        #expect(try await store.presentCode(hash: "old", to: CodeUse(familyID: "f", now: epoch + 1)) == .expired)
    }

    private func rotation(_ successor: String, client: String = "c1", at now: Date) -> RefreshRotation {
        RefreshRotation(
            clientID: client, successor: RefreshTokenRecord(hash: successor, familyID: "", issuedAt: now, expiresAt: now + 86_400),
            sealedSuccessor: Data(successor.utf8), grace: 10, clock: { now })
    }

    /// A family whose first token is `firstToken`.
    private func family(
        _ store: StoreBackend.Store, id: String = "fam", firstToken: String = "t0", expiresAt: Date = epoch + 86_400
    ) async throws -> RefreshFamily {
        let family = RefreshFamily(id: id, grant: grant(), createdAt: epoch, expiresAt: expiresAt)
        try await store.createFamily(family, firstToken: RefreshTokenRecord(hash: firstToken, familyID: id, issuedAt: epoch, expiresAt: expiresAt))
        return family
    }

    /// The grace of a retry counts from when the rotation was applied (the clock read under the
    /// lock), not from when its request began: a rotation that waited 20 s for the lock still
    /// hands its successor to a retry 5 s after it was applied.
    @Test(arguments: StoreBackend.all)
    func theGraceCountsFromWhenTheRotationWasApplied(backend: StoreBackend) async throws {
        let store = try await backend.make()
        _ = try await family(store)
        var delayed = rotation("t1", at: epoch)
        delayed.clock = { epoch + 20 }
        guard case .rotate = try await store.presentRefreshToken(hash: "t0", to: delayed) else {
            Issue.record("the first presentation must rotate")
            return
        }
        #expect(try await store.presentRefreshToken(hash: "t0", to: rotation("t2", at: epoch + 25)) == .resend(
            sealedSuccessor: Data("t1".utf8), family: try #require(try await store.refreshToken(hash: "t1")).1))
    }

    @Test(arguments: StoreBackend.all)
    func refreshRotationAppliesEachDecision(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let family = try await family(store)
        #expect(try await store.presentRefreshToken(hash: "t0", to: rotation("t1", client: "other", at: epoch)) == .refuse(.wrongClient))
        guard case .rotate(let successor, let sealed, let rotatedFamily) = try await store.presentRefreshToken(hash: "t0", to: rotation("t1", at: epoch + 1))
        else { Issue.record("not rotated"); return }
        #expect(successor.familyID == "fam" && successor.expiresAt == family.expiresAt)
        #expect(sealed == Data("t1".utf8) && rotatedFamily == family)
        // Within the grace: the same successor again, and nothing new stored.
        #expect(try await store.presentRefreshToken(hash: "t0", to: rotation("t2", at: epoch + 5)) == .resend(sealedSuccessor: Data("t1".utf8), family: family))
        #expect(try await store.refreshToken(hash: "t2") == nil)
        let (record, _) = try #require(try await store.refreshToken(hash: "t1"))
        #expect(record.rotatedAt == nil)
        // After the grace: reuse revokes the family, and everything of it is refused.
        guard case .revokeFamily = try await store.presentRefreshToken(hash: "t0", to: rotation("t3", at: epoch + 20)) else {
            Issue.record("reuse did not revoke")
            return
        }
        #expect(try await store.presentRefreshToken(hash: "t1", to: rotation("t4", at: epoch + 21)) == .refuse(.revoked))
        #expect(try await store.presentRefreshToken(hash: "none", to: rotation("t5", at: epoch)) == .refuse(.unknown))
    }

    @Test(arguments: StoreBackend.all)
    func concurrentPresentationsOfOneRefreshTokenLeaveOneSuccessor(backend: StoreBackend) async throws {
        let store = try await backend.make()
        _ = try await family(store)
        let decisions = try await concurrently(20) { index in
            try await store.presentRefreshToken(hash: "t0", to: rotation("s\(index)", at: epoch + 1))
        }
        let rotated = decisions.compactMap { decision -> String? in
            if case .rotate(let successor, _, _) = decision { return successor.hash } else { return nil }
        }
        #expect(rotated.count == 1)
        let resent = decisions.compactMap { decision -> Data? in
            if case .resend(let sealed, _) = decision { return sealed } else { return nil }
        }
        #expect(resent.count == 19 && Set(resent) == [Data(rotated[0].utf8)])
    }

    @Test(arguments: StoreBackend.all)
    func expiredAndRevokedFamiliesAreRefusedAndPurged(backend: StoreBackend) async throws {
        let store = try await backend.make()
        _ = try await family(store, expiresAt: epoch + 100)
        #expect(try await store.presentRefreshToken(hash: "t0", to: rotation("t1", at: epoch + 100)) == .refuse(.expired))
        _ = try await family(store, id: "other", firstToken: "o0")
        try await store.revokeFamily(id: "other", now: epoch)
        #expect(try await store.presentRefreshToken(hash: "o0", to: rotation("o1", at: epoch + 1)) == .refuse(.revoked))
        try await store.purge(PurgeCutoffs(expiredBefore: epoch + 200, successorsRotatedBefore: epoch, unusedClientsRegisteredBefore: epoch, loginSessionsCreatedBefore: epoch))
        #expect(try await store.refreshToken(hash: "t0") == nil)  // its family expired
        #expect(try await store.refreshToken(hash: "o0") != nil)  // revoked, but kept until it expires
    }

    private func key(_ id: String, at date: Date = epoch) -> StoredSigningKey {
        StoredSigningKey(keyID: id, privateKey: Data(id.utf8), createdAt: date)
    }

    @Test(arguments: StoreBackend.all)
    func ensuringAnActiveKeyIsIdempotentAcrossConcurrentStarts(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let plans = try await concurrently(10) { index in
            try await store.rotateSigningKeys(SigningKeyRotation(mode: .ensureActive, candidate: key("k\(index)"), publishFor: 990, now: epoch))
        }
        #expect(plans.filter { $0.add != nil }.count == 1)
        #expect(try await store.signingKeys().count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func rotationRetiresTheActiveKeyAndDeletesKeysPastTheirPublication(backend: StoreBackend) async throws {
        let store = try await backend.make()
        _ = try await store.rotateSigningKeys(SigningKeyRotation(mode: .rotate, candidate: key("a"), publishFor: 990, now: epoch))
        _ = try await store.rotateSigningKeys(SigningKeyRotation(mode: .rotate, candidate: key("b", at: epoch + 10), publishFor: 990, now: epoch + 10))
        var keys = try await store.signingKeys()
        #expect(keys.map(\.keyID) == ["b", "a"])
        #expect(keys[0].retiredAt == nil && keys[1].retiredAt == epoch + 10)
        let plan = try await store.rotateSigningKeys(SigningKeyRotation(mode: .ensureActive, candidate: key("c"), publishFor: 990, now: epoch + 1001))
        #expect(plan == SigningKeyRotation.Plan(retire: [], add: nil, delete: ["a"]))
        keys = try await store.signingKeys()
        #expect(keys.map(\.keyID) == ["b"])
        try await store.resealSigningKey(keyID: "b", privateKey: Data("sealed".utf8))
        #expect(try await store.signingKeys().first?.privateKey == Data("sealed".utf8))
    }

    @Test(arguments: StoreBackend.all)
    func localUsersAreCreatedOnceAndChangedOnPurpose(backend: StoreBackend) async throws {
        let store = try await backend.make()
        let alice = LocalUser(id: "usr_a", email: "alice@example.com", name: "Alice", passwordHash: "h1", createdAt: epoch)
        #expect(try await store.insertLocalUser(alice) == alice)
        #expect(try await store.insertLocalUser(LocalUser(id: "usr_x", email: "ALICE@example.com", name: "X", passwordHash: "h2", createdAt: epoch)) == nil)
        #expect(try await store.localUser(email: "Alice@Example.com") == alice)
        #expect(try await store.localUser(id: "usr_a") == alice)
        let changed = try await store.updateLocalUser(email: "alice@example.com", name: nil, passwordHash: "h3")
        #expect(changed?.passwordHash == "h3" && changed?.name == "Alice")
        #expect(try await store.updateLocalUser(email: "bob@example.com", name: nil, passwordHash: "h4") == nil)
        #expect(try await store.localUserCount() == 1)
    }
}
