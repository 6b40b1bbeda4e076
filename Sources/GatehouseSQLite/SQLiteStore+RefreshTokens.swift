import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func createFamily(_ family: RefreshFamily, firstToken: RefreshTokenRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO oauth_refresh_families (id, client_id, subject, scopes, resource, auth_time, created_at, expires_at,
                                                        login_session_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    family.id, family.grant.clientID, family.grant.subject, family.grant.scopes.joined(separator: " "),
                    family.grant.resource, family.grant.authTime.storeValue, family.createdAt.storeValue,
                    family.expiresAt.storeValue, family.grant.loginSessionID,
                ])
            try Self.insert(firstToken, db)
        }
    }

    public func presentRefreshToken(hash: String, to rotation: RefreshRotation) async throws -> RefreshRotation.Decision {
        // One IMMEDIATE transaction: the read, the decision and its writes hold the write lock,
        // so a concurrent presentation (this process or another) sees the outcome.
        try await write { db in
            let now = rotation.clock()
            let decision = rotation.decide(try Self.presented(hash: hash, db), at: now)
            switch decision {
            case .rotate(let successor, let sealed, _):
                try db.execute(
                    sql: "UPDATE oauth_refresh_tokens SET rotated_at = ?, successor_hash = ?, successor_sealed = ? WHERE hash = ?",
                    arguments: [now.storeValue, successor.hash, sealed, hash])
                try Self.insert(successor, db)
            case .revokeFamily(let family):
                try db.execute(
                    sql: "UPDATE oauth_refresh_families SET revoked_at = ? WHERE id = ?", arguments: [now.storeValue, family.id])
            case .resend, .refuse:
                break
            }
            return decision
        }
    }

    public func refreshToken(hash: String) async throws -> (RefreshTokenRecord, RefreshFamily)? {
        try await read { db in try Self.presented(hash: hash, db).map { ($0.record, $0.family) } }
    }

    public func revokeFamily(id: String, now: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE oauth_refresh_families SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                arguments: [now.storeValue, id])
        }
    }

    private static func insert(_ token: RefreshTokenRecord, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO oauth_refresh_tokens (hash, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            arguments: [token.hash, token.familyID, token.issuedAt.storeValue, token.expiresAt.storeValue])
    }

    private static func presented(hash: String, _ db: Database) throws -> PresentedRefreshToken? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT t.hash, t.family_id, t.issued_at, t.expires_at AS token_expires_at, t.rotated_at, t.successor_sealed,
                           s.rotated_at IS NULL AS successor_is_current,
                           f.client_id, f.subject, f.scopes, f.resource, f.auth_time, f.created_at, f.expires_at, f.revoked_at,
                           f.login_session_id
                    FROM oauth_refresh_tokens t
                    JOIN oauth_refresh_families f ON f.id = t.family_id
                    LEFT JOIN oauth_refresh_tokens s ON s.hash = t.successor_hash
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
        return PresentedRefreshToken(
            record: token, family: family, sealedSuccessor: row["successor_sealed"], successorIsCurrent: row["successor_is_current"])
    }
}
