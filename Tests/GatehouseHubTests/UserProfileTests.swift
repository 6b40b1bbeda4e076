import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseSQLite
import Synchronization
import Testing

/// AuthKit's access tokens carry no email: the hub asks the provider for the profile once, at
/// provisioning, so seed 000's `SELECT email FROM users` shows people, not blanks.
@Suite("User profiles at provisioning")
struct UserProfileTests {
    private static func store() throws -> SQLiteStore {
        try SQLiteStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-profile-\(UUID().uuidString)/hub.db").path)
    }

    private static let authKitUser = Principal(subject: "user_01ADA", issuer: "https://example.authkit.app", email: nil)

    @Test func aTokenWithoutEmailIsCompletedFromTheProfileOnce() async throws {
        let calls = Mutex<[String]>([])
        let directory = UserDirectory(store: try Self.store(), oauthProvider: "authkit") { token in
            calls.withLock { $0.append(token) }
            return UserProfile(subject: "user_01ADA", email: "ada@example.com", name: "Ada Lovelace")
        }
        let user = try await directory.user(for: Self.authKitUser, bearerToken: "the-callers-token")
        #expect(user.identity.email == "ada@example.com" && user.identity.name == "Ada Lovelace")
        _ = try await directory.user(for: Self.authKitUser, bearerToken: "the-callers-token")
        #expect(calls.withLock { $0 } == ["the-callers-token"], "the profile is fetched once, not per request")
    }

    @Test func aStoredEmailIsNotFetchedAgainAfterARestart() async throws {
        let store = try Self.store()
        let first = UserDirectory(store: store, oauthProvider: "authkit") { _ in
            UserProfile(subject: "user_01ADA", email: "ada@example.com", name: nil)
        }
        _ = try await first.user(for: Self.authKitUser, bearerToken: "token")
        let calls = Mutex(0)
        let restarted = UserDirectory(store: store, oauthProvider: "authkit") { _ in
            calls.withLock { $0 += 1 }
            return nil
        }
        let user = try await restarted.user(for: Self.authKitUser, bearerToken: "token")
        #expect(user.identity.email == "ada@example.com")
        #expect(calls.withLock { $0 } == 0)
    }

    @Test func aProfileOfAnotherSubjectIsIgnored() async throws {
        let directory = UserDirectory(store: try Self.store(), oauthProvider: "authkit") { _ in
            UserProfile(subject: "user_01SOMEONE_ELSE", email: "mallory@example.com", name: "Mallory")
        }
        let user = try await directory.user(for: Self.authKitUser, bearerToken: "token")
        #expect(user.identity.email == nil)
    }

    @Test func aTokenWithEmailNeedsNoProfile() async throws {
        let directory = UserDirectory(store: try Self.store(), oauthProvider: "jwt") { _ in
            Issue.record("the profile must not be fetched when the token names the email")
            return nil
        }
        let principal = Principal(subject: "s", issuer: "https://issuer.example", email: "grace@example.com")
        #expect(try await directory.user(for: principal, bearerToken: "token").identity.email == "grace@example.com")
    }
}

/// The hub's stored times parse by hand exactly as the formatter writes them.
@Suite("Hub times")
struct HubTimeTests {
    @Test func storedTimesRoundTrip() {
        for seconds in [0.0, 951_782_400, 1_800_000_000, 4_102_444_799] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(HubTime.date(HubTime.text(date)) == date, "\(HubTime.text(date))")
        }
        #expect(HubTime.text(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29 00:00:00")
        #expect(HubTime.date("2026-11-23 06:40:12") == Date(timeIntervalSince1970: 1_795_416_012))
        #expect(HubTime.date("2026-13-01 00:00:00") == .distantPast)
        #expect(HubTime.date("yesterday") == .distantPast)
    }
}
