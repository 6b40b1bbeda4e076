import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func insertCode(_ code: AuthorizationCodeRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO oauth_codes (hash, client_id, subject, scopes, resource, auth_time, redirect_uri,
                                             code_challenge, expires_at, login_session_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    code.hash, code.grant.clientID, code.grant.subject, code.grant.scopes.joined(separator: " "),
                    code.grant.resource, code.grant.authTime.storeValue, code.redirectURI, code.codeChallenge,
                    code.expiresAt.storeValue, code.grant.loginSessionID,
                ])
        }
    }

    public func presentCode(hash: String, to use: CodeUse) async throws -> CodeUse.Decision {
        try await write { db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM oauth_codes WHERE hash = ?", arguments: [hash])
            let presented = row.map { row in
                PresentedCode(
                    record: AuthorizationCodeRecord(
                        hash: hash, grant: Self.grant(row), redirectURI: row["redirect_uri"], codeChallenge: row["code_challenge"],
                        expiresAt: Date(storeValue: row["expires_at"])),
                    usedAt: (row["used_at"] as Double?).map(Date.init(storeValue:)), familyID: row["family_id"])
            }
            let decision = use.decide(presented)
            if case .redeem = decision {
                try db.execute(
                    sql: "UPDATE oauth_codes SET used_at = ?, family_id = ? WHERE hash = ?",
                    arguments: [use.now.storeValue, use.familyID, hash])
            }
            return decision
        }
    }

    /// The grant stored in the shared columns of codes and refresh families.
    static func grant(_ row: Row) -> AuthorizationGrant {
        AuthorizationGrant(
            clientID: row["client_id"], subject: row["subject"],
            scopes: (row["scopes"] as String).split(separator: " ").map(String.init),
            resource: row["resource"], authTime: Date(storeValue: row["auth_time"]), loginSessionID: row["login_session_id"])
    }
}
