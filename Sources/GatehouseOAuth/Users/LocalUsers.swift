import Foundation

/// The embedded authorization server's own user directory.
public struct LocalUsers: Sendable {
    let store: any AuthorizationStore
    let now: @Sendable () -> Date

    public init(store: any AuthorizationStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// The user with this email and password, or `nil`.
    ///
    /// An unknown email costs the same scrypt work as a wrong password, so response times do
    /// not reveal which emails exist.
    public func signIn(email: String, password: String) async throws -> LocalUser? {
        let user = try await store.localUser(email: email.trimmingCharacters(in: .whitespaces))
        guard let user, let stored = user.passwordHash else {
            _ = PasswordHasher.verify(password, against: Self.decoyHash)
            return nil
        }
        return PasswordHasher.verify(password, against: stored) ? user : nil
    }

    /// Creates a user, or updates the name and password of the user with this email.
    public func add(email: String, name: String?, password: String?) async throws -> LocalUser {
        let hash = try password.map(PasswordHasher.hash)
        return try await store.upsertLocalUser(
            LocalUser(id: SecretToken.generate(prefix: "usr_"), email: email, name: name, passwordHash: hash, createdAt: now()))
    }

    /// The user with this email, created without a password when missing (the auto-approved dev user).
    public func devUser(email: String) async throws -> LocalUser {
        if let existing = try await store.localUser(email: email) { return existing }
        return try await add(email: email, name: nil, password: nil)
    }

    private static let decoyHash = (try? PasswordHasher.hash(SecretToken.generate())) ?? ""
}
