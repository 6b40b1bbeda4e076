import Foundation
import GatehouseCore
import Synchronization

/// Provisions hub users just in time and remembers them.
///
/// The first request of a caller creates (or updates) their row; later requests are answered
/// from memory, and `last_seen_at` is written at most once per `touchInterval`, so the store
/// sees one write per active user per minute, not one per request.
public final class UserDirectory: Sendable {
    private struct Entry {
        var user: HubUser
        var touchedAt: Date
    }

    private let store: any HubStore
    private let oauthProvider: String
    private let touchInterval: TimeInterval
    private let capacity: Int
    private let now: @Sendable () -> Date
    private let profiles: ProfileLookup?
    private let entries = Mutex<[String: Entry]>([:])

    /// - Parameters:
    ///   - oauthProvider: how users sign in (`embedded`, `authkit`, …), recorded with each user.
    ///   - profiles: fetches a caller's email and name when their token carries no email and
    ///     the store has none yet.
    public init(
        store: any HubStore, oauthProvider: String, profiles: ProfileLookup? = nil, touchInterval: TimeInterval = 60,
        capacity: Int = 100_000, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.oauthProvider = oauthProvider
        self.profiles = profiles
        self.touchInterval = touchInterval
        self.capacity = capacity
        self.now = now
    }

    /// The hub user `principal` stands for, provisioned on first sight.
    ///
    /// - Parameter bearerToken: the caller's access token, for the profile lookup when the
    ///   token says no email and the store knows none.
    public func user(for principal: Principal, bearerToken: String? = nil) async throws -> HubUser {
        let key = (principal.issuer ?? "") + "\u{0}" + principal.subject  // one process has one embedded issuer
        let current = now()
        let lookup = entries.withLock { entries -> Lookup in
            guard var entry = entries[key] else { return .missing }
            guard current.timeIntervalSince(entry.touchedAt) >= touchInterval else { return .known(entry.user) }
            entry.touchedAt = current  // claimed here, so concurrent requests do not write it again
            entries[key] = entry
            return .dueForTouch(entry.user)
        }
        switch lookup {
        case .known(let user):
            return user
        case .dueForTouch(let user):
            try await store.touchUser(id: user.id, now: current)
            return user
        case .missing:
            break
        }
        var user = try await store.provisionUser(identity(of: principal), now: current)
        if user.identity.email == nil, !principal.isAnonymous, let profiles, let bearerToken, let profile = await profiles(bearerToken),
            profile.subject == principal.subject
        {
            var identity = identity(of: principal)
            identity.email = profile.email
            identity.name = identity.name ?? profile.name
            user = try await store.provisionUser(identity, now: current)
        }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(user: user, touchedAt: current)
        }
        return user
    }

    private enum Lookup {
        case known(HubUser)
        case dueForTouch(HubUser)
        case missing
    }

    private func identity(of principal: Principal) -> UserIdentity {
        if principal.isAnonymous {
            return UserIdentity(issuer: "local", subject: "anonymous", email: nil, name: nil, oauthProvider: "none", organizationID: nil)
        }
        // The embedded server's subjects are ids in this very store, while its issuer is the
        // base URL, which changes when the hub moves (port, proxy): keyed by the URL, every user
        // would lose their tools on a move. So its users are keyed by provider, not by URL.
        let issuer = oauthProvider == "embedded" ? "embedded" : principal.issuer ?? ""
        return UserIdentity(
            issuer: issuer, subject: principal.subject, email: principal.email,
            name: principal.claims["name"]?.stringValue, oauthProvider: oauthProvider, organizationID: principal.organizationID)
    }
}
