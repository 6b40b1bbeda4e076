import Foundation
import GatehouseCore
import Logging

/// The embedded authorization server's own user directory, and signing in to it.
public struct LocalUsers: Sendable {
    let store: any AuthorizationStore
    let throttle: SignInThrottle
    let work: PasswordWork
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        store: any AuthorizationStore, throttle: SignInThrottle = SignInThrottle(), work: PasswordWork = PasswordWork(),
        logger: Logger = Logger(label: "gatehouse.oauth"), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.throttle = throttle
        self.work = work
        self.logger = logger
        self.now = now
    }

    /// The outcome of a sign-in attempt.
    public enum SignIn: Sendable, Equatable {
        case signedIn(LocalUser)
        /// Wrong email or password; `block` when this failure makes the next attempt wait.
        case refused(block: SignInThrottle.Block?)
        /// Too many recent failures for the account or the address: not checked at all.
        case throttled(SignInThrottle.Block)
        /// Too many sign-ins are being checked at once; try again shortly.
        case busy
    }

    /// Checks `email` and `password`, coming from `address`, within the throttle's limits.
    ///
    /// An unknown email costs the same scrypt work as a wrong password, so response times do
    /// not reveal which emails exist. Every failure is logged with the account and address.
    public func signIn(email: String, password: String, from address: String) async throws -> SignIn {
        let email = email.trimmingCharacters(in: .whitespaces)
        if let block = try await throttle.block(account: email, address: address, now: now()) {
            Self.recordFailure(email: email, address: address, reason: "throttled")
            return .throttled(block)
        }
        let user = try await store.localUser(email: email)
        let matches: Bool
        do {
            matches = try await work.run {
                guard let stored = user?.passwordHash else {
                    _ = PasswordHasher.verify(password, against: Self.decoyHash)
                    return false
                }
                return PasswordHasher.verify(password, against: stored)
            }
        } catch is PasswordWork.Busy {
            logger.warning("sign-in refused: too many sign-ins being checked at once", metadata: ["event": "sign_in_busy", "address": "\(address)"])
            Self.recordFailure(email: email, address: address, reason: "busy")
            return .busy
        }
        guard let user, matches else {
            let (failures, block) = try await throttle.recordFailure(account: email, address: address, now: now())
            logger.notice(
                "sign-in failed",
                metadata: [
                    "event": "sign_in_failed", "account": "\(email.prefix(254))", "address": "\(address)", "failures": "\(failures)",
                    "blocked_for": "\(block?.retryAfter ?? 0)",
                ])
            Self.recordFailure(email: email, address: address, reason: user == nil ? "unknown_account" : "wrong_password")
            return .refused(block: block)
        }
        try await throttle.recordSuccess(account: email)
        GatehouseMetrics.signIn(method: "password", outcome: "succeeded")
        AuditLog.record(
            .signInSucceeded, ["method": "password", "sub": .string(user.id), "email": .string(user.email), "address": .string(address)])
        return .signedIn(user)
    }

    /// Counts and audits a failed password sign-in (never the password).
    private static func recordFailure(email: String, address: String, reason: String) {
        GatehouseMetrics.signIn(method: "password", outcome: reason == "throttled" || reason == "busy" ? "throttled" : "failed")
        AuditLog.record(
            .signInFailed,
            ["method": "password", "reason": .string(reason), "email": .string(String(email.prefix(254))), "address": .string(address)])
    }

    /// Creates a user; `nil` when a user with this email exists (nothing changes then). The
    /// password is hashed off the cooperative threads, as at sign-in.
    public func create(email: String, name: String?, password: String?) async throws -> LocalUser? {
        var hash: String?
        if let password { hash = try await work.run { try PasswordHasher.hash(password) } }
        return try await store.insertLocalUser(
            LocalUser(id: SecretToken.generate(prefix: "usr_"), email: email, name: name, passwordHash: hash, createdAt: now()))
    }

    /// Changes the name and password of the user with this email; `nil` when there is none.
    public func update(email: String, name: String?, password: String) async throws -> LocalUser? {
        let hash = try await work.run { try PasswordHasher.hash(password) }
        return try await store.updateLocalUser(email: email, name: name, passwordHash: hash)
    }

    /// The user with this email, created without a password when missing (the auto-approved dev user).
    public func devUser(email: String) async throws -> LocalUser {
        if let existing = try await store.localUser(email: email) { return existing }
        if let created = try await create(email: email, name: nil, password: nil) { return created }
        // Another request created it in between.
        guard let raced = try await store.localUser(email: email) else { throw OAuthError(.serverError, "the dev user cannot be created") }
        return raced
    }

    private static let decoyHash = (try? PasswordHasher.hash(SecretToken.generate())) ?? ""
}
