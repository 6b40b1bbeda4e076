import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func provisionUpstreamUser(_ identity: UpstreamIdentity, newUserID: String, now: Date) async throws -> UpstreamProvisioning {
        try await write { db in
            let linked = try String.fetchOne(
                db, sql: "SELECT user_id FROM idp_upstream_identities WHERE issuer = ? AND subject = ?",
                arguments: [identity.issuer, identity.subject])
            if let linked {
                // The provider's profile wins, except an email another user already has.
                try db.execute(
                    sql: """
                        UPDATE idp_users SET name = coalesce(?, name),
                            email = CASE WHEN ? IS NULL OR EXISTS (SELECT 1 FROM idp_users WHERE email = ? AND id <> ?)
                                         THEN email ELSE ? END
                        WHERE id = ?
                        """,
                    arguments: [identity.name, identity.email, identity.email, linked, identity.email, linked])
                guard let user = try Self.fetchUser(db, "id = ?", linked) else { throw DatabaseError(message: "linked user vanished") }
                return .user(user)
            }
            // A person without an email at the provider gets a placeholder unique to the identity.
            let email = identity.email ?? "\(identity.subject)@\(URLComponents(string: identity.issuer)?.host ?? "upstream").invalid"
            if try Self.fetchUser(db, "email = ?", email) != nil { return .emailTaken(email) }
            try db.execute(
                sql: "INSERT INTO idp_users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, NULL, ?)",
                arguments: [newUserID, email, identity.name, now.storeValue])
            try db.execute(
                sql: "INSERT INTO idp_upstream_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
                arguments: [identity.issuer, identity.subject, newUserID, now.storeValue])
            guard let user = try Self.fetchUser(db, "id = ?", newUserID) else { throw DatabaseError(message: "new user vanished") }
            return .user(user)
        }
    }

    public func insertPendingLogin(_ login: PendingLogin) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO idp_pending_logins (state_hash, sealed_request, sealed_secrets, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [login.stateHash, login.sealedRequest, login.sealedSecrets, login.expiresAt.storeValue])
        }
    }

    public func takePendingLogin(stateHash: String) async throws -> PendingLogin? {
        try await write { db in
            let login = try Row.fetchOne(db, sql: "SELECT * FROM idp_pending_logins WHERE state_hash = ?", arguments: [stateHash]).map { row in
                PendingLogin(
                    stateHash: row["state_hash"], sealedRequest: row["sealed_request"], sealedSecrets: row["sealed_secrets"],
                    expiresAt: Date(storeValue: row["expires_at"]))
            }
            try db.execute(sql: "DELETE FROM idp_pending_logins WHERE state_hash = ?", arguments: [stateHash])
            return login
        }
    }

    public func insertLoginSession(_ session: LoginSession) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO idp_login_sessions (id, user_id, organization_id, sealed_tokens, created_at, checked_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, session.userID, session.organizationID, session.sealedTokens, session.createdAt.storeValue,
                    session.checkedAt.storeValue,
                ])
        }
    }

    public func loginSession(id: String) async throws -> LoginSession? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM idp_login_sessions WHERE id = ?", arguments: [id]).map { row in
                LoginSession(
                    id: row["id"], userID: row["user_id"], organizationID: row["organization_id"], sealedTokens: row["sealed_tokens"],
                    createdAt: Date(storeValue: row["created_at"]), checkedAt: Date(storeValue: row["checked_at"]))
            }
        }
    }

    public func updateLoginSession(id: String, sealedTokens: Data, checkedAt: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE idp_login_sessions SET sealed_tokens = ?, checked_at = ? WHERE id = ?",
                arguments: [sealedTokens, checkedAt.storeValue, id])
        }
    }

    public func recordConsent(_ consent: Consent) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO idp_consents (user_id, client_id, redirect_uri, resource, scopes, granted_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(user_id, client_id) DO UPDATE SET redirect_uri = excluded.redirect_uri, resource = excluded.resource,
                        scopes = excluded.scopes, granted_at = excluded.granted_at
                    """,
                arguments: [
                    consent.userID, consent.clientID, consent.redirectURI, consent.resource, consent.scopes.joined(separator: " "),
                    consent.grantedAt.storeValue,
                ])
        }
    }

    public func consent(userID: String, clientID: String) async throws -> Consent? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM idp_consents WHERE user_id = ? AND client_id = ?", arguments: [userID, clientID]).map {
                row in
                Consent(
                    userID: row["user_id"], clientID: row["client_id"], redirectURI: row["redirect_uri"], resource: row["resource"],
                    scopes: (row["scopes"] as String).split(separator: " ").map(String.init), grantedAt: Date(storeValue: row["granted_at"]))
            }
        }
    }
}
