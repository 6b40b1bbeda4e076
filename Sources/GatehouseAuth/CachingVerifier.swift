import Crypto
import Foundation
import GatehouseCore
import Synchronization

/// Remembers successful verifications so a token is checked once, not on every request.
///
/// Entries are keyed by the SHA-256 of the token (the token itself is never stored),
/// never outlive the token's own `exp`, live at most `maxAge`, and the cache holds at
/// most `capacity` entries. Failures are not cached: a token that failed for a transient
/// reason (keys unavailable) must be able to succeed a moment later.
public final class CachingVerifier: TokenVerifier {
    private struct Entry {
        var principal: Principal
        var expires: Date
    }

    private let inner: any TokenVerifier
    private let capacity: Int
    private let maxAge: TimeInterval
    private let now: @Sendable () -> Date
    private let entries = Mutex<[SHA256.Digest: Entry]>([:])

    public init(
        _ inner: any TokenVerifier, capacity: Int = 10_000, maxAge: Duration = .seconds(300),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.inner = inner
        self.capacity = capacity
        self.maxAge = maxAge.inSeconds
        self.now = now
    }

    public func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        let key = Self.digest(token)
        let instant = now()
        if let cached = entries.withLock({ $0[key] }), cached.expires > instant {
            return cached.principal
        }
        let principal = try await inner.verify(token)
        var expires = instant.addingTimeInterval(maxAge)
        if case .int(let exp)? = principal.claims["exp"] {
            expires = min(expires, Date(timeIntervalSince1970: TimeInterval(exp)))
        }
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > instant }
                // Still full of live entries: drop an arbitrary half rather than grow.
                if entries.count >= capacity {
                    entries = Dictionary(uniqueKeysWithValues: entries.prefix(capacity / 2).map { ($0.key, $0.value) })
                }
            }
            entries[key] = Entry(principal: principal, expires: expires)
        }
        return principal
    }

    /// SHA-256 of the token's UTF-8 bytes, hashed in place without copying them.
    static func digest(_ token: String) -> SHA256.Digest {
        var token = token
        return token.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
    }

    /// The number of cached verifications.
    public var count: Int { entries.withLock { $0.count } }
}
