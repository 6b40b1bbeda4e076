import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func createFamily(_ family: RefreshFamily, firstToken: RefreshTokenRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO oauth_refresh_families (id, client_id, subject, scopes, resource, auth_time, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    family.id, family.grant.clientID, family.grant.subject, family.grant.scopes.joined(separator: " "),
                    family.grant.resource, family.grant.authTime.storeValue, family.createdAt.storeValue,
                    family.expiresAt.storeValue,
                ])
            try Self.insert(firstToken, db)
        }
    }

    public func useRefreshToken(
        hash: String, clientID: String, replacement: RefreshTokenRecord, grace: TimeInterval, now: Date
    ) async throws -> RefreshOutcome {
        try await database.write { db in
            guard let (token, family) = try Self.fetchToken(hash: hash, db) else { return .unknown }
            guard family.grant.clientID == clientID else { return .wrongClient }
            if family.revokedAt != nil { return .revoked }
            if token.expiresAt <= now || family.expiresAt <= now { return .expired }
            if let rotatedAt = token.rotatedAt, now.timeIntervalSince(rotatedAt) > grace {
                // OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: a rotated token presented again means it
                // leaked; revoke every token of the family so the thief's copy dies too.
                try db.execute(
                    sql: "UPDATE oauth_refresh_families SET revoked_at = ? WHERE id = ?", arguments: [now.storeValue, family.id])
                return .reused
            }
            if token.rotatedAt == nil {
                try db.execute(
                    sql: "UPDATE oauth_refresh_tokens SET rotated_at = ? WHERE hash = ?", arguments: [now.storeValue, hash])
            }
            var successor = replacement
            successor.familyID = family.id
            successor.expiresAt = min(successor.expiresAt, family.expiresAt)
            try Self.insert(successor, db)
            return .rotated(family)
        }
    }

    public func refreshToken(hash: String) async throws -> (RefreshTokenRecord, RefreshFamily)? {
        try await database.read { db in try Self.fetchToken(hash: hash, db) }
    }

    public func revokeFamily(id: String, now: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE oauth_refresh_families SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                arguments: [now.storeValue, id])
        }
    }

    public func purgeExpired(now: Date) async throws {
        // Used codes are kept until they expire so a replay is recognised and revokes its family.
        try await database.write { db in
            try db.execute(sql: "DELETE FROM oauth_codes WHERE expires_at < ?", arguments: [now.storeValue])
            try db.execute(sql: "DELETE FROM oauth_refresh_tokens WHERE expires_at < ?", arguments: [now.storeValue])
            try db.execute(sql: "DELETE FROM oauth_refresh_families WHERE expires_at < ?", arguments: [now.storeValue])
        }
    }

    private static func insert(_ token: RefreshTokenRecord, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO oauth_refresh_tokens (hash, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            arguments: [token.hash, token.familyID, token.issuedAt.storeValue, token.expiresAt.storeValue])
    }

    private static func fetchToken(hash: String, _ db: Database) throws -> (RefreshTokenRecord, RefreshFamily)? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT t.hash, t.family_id, t.issued_at, t.expires_at AS token_expires_at, t.rotated_at,
                           f.client_id, f.subject, f.scopes, f.resource, f.auth_time, f.created_at, f.expires_at, f.revoked_at
                    FROM oauth_refresh_tokens t JOIN oauth_refresh_families f ON f.id = t.family_id
                    WHERE t.hash = ?
                    """,
                arguments: [hash])
        else { return nil }
        let token = RefreshTokenRecord(
            hash: row["hash"], familyID: row["family_id"], issuedAt: Date(storeValue: row["issued_at"]),
            expiresAt: Date(storeValue: row["token_expires_at"]),
            rotatedAt: (row["rotated_at"] as Double?).map(Date.init(storeValue:)))
        let family = RefreshFamily(
            id: row["family_id"], grant: grant(row), createdAt: Date(storeValue: row["created_at"]),
            expiresAt: Date(storeValue: row["expires_at"]), revokedAt: (row["revoked_at"] as Double?).map(Date.init(storeValue:)))
        return (token, family)
    }
}
