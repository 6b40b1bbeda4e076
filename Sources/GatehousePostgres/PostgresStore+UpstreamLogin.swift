import Foundation
import GatehouseOAuth
import PostgresNIO

extension PostgresStore {
    public func provisionUpstreamUser(_ identity: UpstreamIdentity, newUserID: String, now: Date) async throws -> UpstreamProvisioning {
        try await transaction { connection in
            // One identity is provisioned by one instance at a time.
            try await self.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(identity.issuer + " " + identity.subject), 0))", on: connection)
            let linked = try await self.rows(
                "SELECT user_id FROM idp_upstream_identities WHERE issuer = \(identity.issuer) AND subject = \(identity.subject)",
                on: connection
            ).first.map { try $0.value("user_id", as: String.self) }
            if let linked {
                // The provider's profile wins, except an email another user already has.
                try await self.execute(
                    """
                    UPDATE idp_users SET name = coalesce(\(identity.name), name),
                        email = CASE WHEN \(identity.email)::text IS NULL
                                       OR EXISTS (SELECT 1 FROM idp_users o WHERE lower(o.email) = lower(\(identity.email)) AND o.id <> \(linked))
                                     THEN email ELSE \(identity.email) END
                    WHERE id = \(linked)
                    """, on: connection)
                guard let user = try await self.rows("SELECT * FROM idp_users WHERE id = \(linked)", on: connection).first else {
                    throw PostgresStoreError("the user linked to an upstream identity vanished")
                }
                return .user(try Self.localUser(user))
            }
            // A person without an email at the provider gets a placeholder unique to the identity.
            let email = identity.email ?? "\(identity.subject)@\(URLComponents(string: identity.issuer)?.host ?? "upstream").invalid"
            let inserted = try await self.rows(
                """
                INSERT INTO idp_users (id, email, name, password_hash, created_at)
                VALUES (\(newUserID), \(email), \(identity.name), NULL, \(now.storeValue))
                ON CONFLICT DO NOTHING RETURNING *
                """, on: connection)
            guard let row = inserted.first else { return .emailTaken(email) }
            try await self.execute(
                """
                INSERT INTO idp_upstream_identities (issuer, subject, user_id, created_at)
                VALUES (\(identity.issuer), \(identity.subject), \(newUserID), \(now.storeValue))
                """, on: connection)
            return .user(try Self.localUser(row))
        }
    }

    public func insertPendingLogin(_ login: PendingLogin) async throws {
        try await execute(
            """
            INSERT INTO idp_pending_logins (state_hash, sealed_request, sealed_secrets, expires_at)
            VALUES (\(login.stateHash), \(login.sealedRequest), \(login.sealedSecrets), \(login.expiresAt.storeValue))
            """)
    }

    public func takePendingLogin(stateHash: String) async throws -> PendingLogin? {
        // DELETE … RETURNING: of two callbacks with one state, on any instances, one gets the row.
        try await rows("DELETE FROM idp_pending_logins WHERE state_hash = \(stateHash) RETURNING *").first.map { row in
            PendingLogin(
                stateHash: try row.value("state_hash"), sealedRequest: try row.value("sealed_request"),
                sealedSecrets: try row.value("sealed_secrets"), expiresAt: try row.date("expires_at"))
        }
    }

    public func insertLoginSession(_ session: LoginSession) async throws {
        try await execute(
            """
            INSERT INTO idp_login_sessions (id, user_id, organization_id, sealed_tokens, created_at, checked_at)
            VALUES (\(session.id), \(session.userID), \(session.organizationID), \(session.sealedTokens), \(session.createdAt.storeValue),
                    \(session.checkedAt.storeValue))
            """)
    }

    public func loginSession(id: String) async throws -> LoginSession? {
        try await rows("SELECT * FROM idp_login_sessions WHERE id = \(id)").first.map { row in
            LoginSession(
                id: try row.value("id"), userID: try row.value("user_id"), organizationID: try row.value("organization_id"),
                sealedTokens: try row.value("sealed_tokens"), createdAt: try row.date("created_at"), checkedAt: try row.date("checked_at"))
        }
    }

    public func updateLoginSession(id: String, sealedTokens: Data, checkedAt: Date) async throws {
        try await execute(
            "UPDATE idp_login_sessions SET sealed_tokens = \(sealedTokens), checked_at = \(checkedAt.storeValue) WHERE id = \(id)")
    }

    public func recordConsent(_ consent: Consent) async throws {
        try await execute(
            """
            INSERT INTO idp_consents (user_id, client_id, redirect_uri, resource, scopes, granted_at)
            VALUES (\(consent.userID), \(consent.clientID), \(consent.redirectURI), \(consent.resource),
                    \(consent.scopes.joined(separator: " ")), \(consent.grantedAt.storeValue))
            ON CONFLICT (user_id, client_id) DO UPDATE SET redirect_uri = excluded.redirect_uri, resource = excluded.resource,
                scopes = excluded.scopes, granted_at = excluded.granted_at
            """)
    }

    public func consent(userID: String, clientID: String) async throws -> Consent? {
        try await rows("SELECT * FROM idp_consents WHERE user_id = \(userID) AND client_id = \(clientID)").first.map { row in
            Consent(
                userID: try row.value("user_id"), clientID: try row.value("client_id"), redirectURI: try row.value("redirect_uri"),
                resource: try row.value("resource"), scopes: try row.value("scopes", as: String.self).split(separator: " ").map(String.init),
                grantedAt: try row.date("granted_at"))
        }
    }
}
