import Foundation
import GatehouseOAuth
import PostgresNIO

/// Failed sign-ins every instance counts together: one row per account or address, by the SHA-256
/// of its key (no email or address is stored), changed under a transaction-scoped advisory lock
/// per key, so concurrent failures on several instances are each counted once.
extension PostgresStore: SignInFailureRecords {
    public func records(_ keys: [String]) async throws -> [String: SignInFailureRecord] {
        let hashes = keys.map(Self.keyHash)
        var found: [String: SignInFailureRecord] = [:]
        for row in try await rows("SELECT * FROM sign_in_failures WHERE key_hash = ANY(\(hashes))") {
            let hash: String = try row.value("key_hash")
            if let key = keys.first(where: { Self.keyHash($0) == hash }) { found[key] = try Self.record(row) }
        }
        return found
    }

    public func update(
        _ keys: [String], _ change: @escaping @Sendable (String, SignInFailureRecord?) -> SignInFailureRecord?
    ) async throws -> [String: SignInFailureRecord] {
        try await transaction { connection in
            var changed: [String: SignInFailureRecord] = [:]
            // Sorted, so two transactions locking the same keys take them in the same order.
            for key in keys.sorted() {
                let hash = Self.keyHash(key)
                try await self.execute("SELECT pg_advisory_xact_lock(hashtextextended(\(hash), 7))", on: connection)
                let current = try await self.rows("SELECT * FROM sign_in_failures WHERE key_hash = \(hash)", on: connection).first
                guard let next = change(key, try current.map(Self.record)) else {
                    try await self.execute("DELETE FROM sign_in_failures WHERE key_hash = \(hash)", on: connection)
                    continue
                }
                try await self.execute(
                    """
                    INSERT INTO sign_in_failures (key_hash, failures, last_failure, blocked_until, lockout)
                    VALUES (\(hash), \(next.failures), \(next.lastFailure.storeValue), \(next.blockedUntil.storeValue), \(next.isLockout))
                    ON CONFLICT (key_hash) DO UPDATE SET failures = EXCLUDED.failures, last_failure = EXCLUDED.last_failure,
                        blocked_until = EXCLUDED.blocked_until, lockout = EXCLUDED.lockout
                    """, on: connection)
                changed[key] = next
            }
            return changed
        }
    }

    static func keyHash(_ key: String) -> String {
        SecretToken.hash(key)
    }

    static func record(_ row: PostgresRandomAccessRow) throws -> SignInFailureRecord {
        SignInFailureRecord(
            failures: try row.value("failures"), lastFailure: try row.date("last_failure"), blockedUntil: try row.date("blocked_until"),
            isLockout: try row.value("lockout"))
    }
}
