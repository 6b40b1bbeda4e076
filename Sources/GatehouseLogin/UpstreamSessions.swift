import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth

/// The provider's tokens of each login, sealed in the store, and the refresh-time question
/// whether the person is still signed in at the provider.
public struct UpstreamSessions: LoginSessionCheck {
    let provider: any UpstreamProvider
    let store: any AuthorizationStore
    let secrets: SecretBox
    let now: @Sendable () -> Date

    public init(provider: any UpstreamProvider, store: any AuthorizationStore, secrets: SecretBox, now: @escaping @Sendable () -> Date = { Date() }) {
        self.provider = provider
        self.store = store
        self.secrets = secrets
        self.now = now
    }

    /// Stores a new login of `user` with the provider's `tokens`, sealed; returns its id.
    func open(user: LocalUser, signIn: UpstreamSignIn) async throws -> String {
        let id = SecretToken.generate(prefix: "lgn_")
        try await store.insertLoginSession(
            LoginSession(
                id: id, userID: user.id, organizationID: signIn.identity.organizationID, sealedTokens: try seal(signIn.tokens),
                createdAt: now(), checkedAt: now()))
        return id
    }

    public func recheck(sessionID: String) async -> LoginSessionVerdict {
        let session: LoginSession?
        do {
            session = try await store.loginSession(id: sessionID)
        } catch {
            return .unreachable(reason: "the store cannot be read")
        }
        guard let session else { return .signedOut(reason: "the login is no longer known") }
        guard let opened = try? secrets.openSealed(session.sealedTokens, what: "the identity provider's tokens"),
            let parsed = try? JSONValue.parse(opened), let tokens = UpstreamTokens(json: parsed)
        else { return .signedOut(reason: "the login's provider tokens cannot be opened (was GATEHOUSE_SECRET_KEY changed?)") }
        let (verdict, refreshed) = await provider.recheck(tokens)
        if verdict == .signedIn, let sealed = try? seal(refreshed ?? tokens) {
            try? await store.updateLoginSession(id: sessionID, sealedTokens: sealed, checkedAt: now())
        }
        return verdict
    }

    private func seal(_ tokens: UpstreamTokens) throws -> Data {
        var writer = JSONWriter()
        writer.value(tokens.json)
        return try secrets.seal(Data(writer.bytes), what: "the identity provider's tokens")
    }
}
