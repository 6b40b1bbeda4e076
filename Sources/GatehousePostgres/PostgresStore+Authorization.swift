import Foundation
import GatehouseCore
import GatehouseOAuth
import PostgresNIO

extension PostgresStore: AuthorizationStore {
    // MARK: Clients

    public func insertClient(_ client: RegisteredClient) async throws {
        var writer = JSONWriter()
        writer.value(client.metadata.document)
        let metadata = String(decoding: writer.bytes, as: UTF8.self)
        try await execute(
            """
            INSERT INTO oauth_clients (id, secret_hash, metadata, registered_at)
            VALUES (\(client.id), \(client.secretHash), \(metadata), \(client.registeredAt.storeValue))
            """)
    }

    public func client(id: String) async throws -> RegisteredClient? {
        guard let row = try await rows("SELECT * FROM oauth_clients WHERE id = \(id)").first else { return nil }
        let document = try JSONValue.parse(Array(try row.value("metadata", as: String.self).utf8))
        return RegisteredClient(
            id: try row.value("id"), secretHash: try row.value("secret_hash"), metadata: try ClientMetadata(registration: document),
            registeredAt: try row.date("registered_at"))
    }

    public func recordClientUse(id: String, now: Date) async throws {
        try await execute("UPDATE oauth_clients SET last_used_at = \(now.storeValue) WHERE id = \(id)")
    }

    // MARK: Authorization codes

    public func insertCode(_ code: AuthorizationCodeRecord) async throws {
        let grant = code.grant
        try await execute(
            """
            INSERT INTO oauth_codes (hash, client_id, subject, scopes, resource, auth_time, redirect_uri, code_challenge, expires_at,
                                     login_session_id)
            VALUES (\(code.hash), \(grant.clientID), \(grant.subject), \(grant.scopes.joined(separator: " ")), \(grant.resource),
                    \(grant.authTime.storeValue), \(code.redirectURI), \(code.codeChallenge), \(code.expiresAt.storeValue),
                    \(grant.loginSessionID))
            """)
    }

    public func presentCode(hash: String, to use: CodeUse) async throws -> CodeUse.Decision {
        try await transaction { connection in
            // FOR UPDATE: a concurrent presentation on any instance waits for this decision.
            let presented = try await self.rows("SELECT * FROM oauth_codes WHERE hash = \(hash) FOR UPDATE", on: connection).first.map {
                row in
                PresentedCode(
                    record: AuthorizationCodeRecord(
                        hash: hash, grant: try Self.grant(row), redirectURI: try row.value("redirect_uri"),
                        codeChallenge: try row.value("code_challenge"), expiresAt: try row.date("expires_at")),
                    usedAt: try row.optionalDate("used_at"), familyID: try row.value("family_id"))
            }
            let decision = use.decide(presented)
            if case .redeem = decision {
                try await self.execute(
                    "UPDATE oauth_codes SET used_at = \(use.now.storeValue), family_id = \(use.familyID) WHERE hash = \(hash)", on: connection)
            }
            return decision
        }
    }

    /// The grant stored in the shared columns of codes and refresh families.
    static func grant(_ row: PostgresRandomAccessRow) throws -> AuthorizationGrant {
        AuthorizationGrant(
            clientID: try row.value("client_id"), subject: try row.value("subject"),
            scopes: try row.value("scopes", as: String.self).split(separator: " ").map(String.init), resource: try row.value("resource"),
            authTime: try row.date("auth_time"), loginSessionID: try row.value("login_session_id"))
    }

    // MARK: Refresh tokens

    public func createFamily(_ family: RefreshFamily, firstToken: RefreshTokenRecord) async throws {
        let grant = family.grant
        try await transaction { connection in
            try await self.execute(
                """
                INSERT INTO oauth_refresh_families (id, client_id, subject, scopes, resource, auth_time, created_at, expires_at,
                                                    login_session_id)
                VALUES (\(family.id), \(grant.clientID), \(grant.subject), \(grant.scopes.joined(separator: " ")), \(grant.resource),
                        \(grant.authTime.storeValue), \(family.createdAt.storeValue), \(family.expiresAt.storeValue), \(grant.loginSessionID))
                """, on: connection)
            try await self.insert(firstToken, on: connection)
        }
    }

    public func presentRefreshToken(hash: String, to rotation: RefreshRotation) async throws -> RefreshRotation.Decision {
        try await transaction { connection in
            // The token row is locked first: concurrent refreshes of one token, on any instance,
            // are decided one after another and end with one successor.
            _ = try await self.rows("SELECT 1 FROM oauth_refresh_tokens WHERE hash = \(hash) FOR UPDATE", on: connection)
            let now = rotation.clock()
            let decision = rotation.decide(try await self.presented(hash: hash, on: connection), at: now)
            switch decision {
            case .rotate(let successor, let sealed, _):
                try await self.execute(
                    """
                    UPDATE oauth_refresh_tokens SET rotated_at = \(now.storeValue), successor_hash = \(successor.hash),
                        successor_sealed = \(sealed) WHERE hash = \(hash)
                    """, on: connection)
                try await self.insert(successor, on: connection)
            case .revokeFamily(let family):
                try await self.execute(
                    "UPDATE oauth_refresh_families SET revoked_at = \(now.storeValue) WHERE id = \(family.id)", on: connection)
            case .resend, .refuse:
                break
            }
            return decision
        }
    }

    public func refreshToken(hash: String) async throws -> (RefreshTokenRecord, RefreshFamily)? {
        try await presented(hash: hash, on: nil).map { ($0.record, $0.family) }
    }

    public func revokeFamily(id: String, now: Date) async throws {
        try await execute("UPDATE oauth_refresh_families SET revoked_at = coalesce(revoked_at, \(now.storeValue)) WHERE id = \(id)")
    }

    private func insert(_ token: RefreshTokenRecord, on connection: PostgresConnection) async throws {
        try await execute(
            """
            INSERT INTO oauth_refresh_tokens (hash, family_id, issued_at, expires_at)
            VALUES (\(token.hash), \(token.familyID), \(token.issuedAt.storeValue), \(token.expiresAt.storeValue))
            """, on: connection)
    }

    private func presented(hash: String, on connection: PostgresConnection?) async throws -> PresentedRefreshToken? {
        guard
            let row = try await rows(
                """
                SELECT t.hash, t.family_id, t.issued_at, t.expires_at AS token_expires_at, t.rotated_at, t.successor_sealed,
                       (s.hash IS NULL OR s.rotated_at IS NULL) AS successor_is_current,
                       f.client_id, f.subject, f.scopes, f.resource, f.auth_time, f.created_at, f.expires_at, f.revoked_at,
                       f.login_session_id
                FROM oauth_refresh_tokens t
                JOIN oauth_refresh_families f ON f.id = t.family_id
                LEFT JOIN oauth_refresh_tokens s ON s.hash = t.successor_hash
                WHERE t.hash = \(hash)
                """, on: connection
            ).first
        else { return nil }
        let token = RefreshTokenRecord(
            hash: try row.value("hash"), familyID: try row.value("family_id"), issuedAt: try row.date("issued_at"),
            expiresAt: try row.date("token_expires_at"), rotatedAt: try row.optionalDate("rotated_at"))
        let family = RefreshFamily(
            id: try row.value("family_id"), grant: try Self.grant(row), createdAt: try row.date("created_at"),
            expiresAt: try row.date("expires_at"), revokedAt: try row.optionalDate("revoked_at"))
        return PresentedRefreshToken(
            record: token, family: family, sealedSuccessor: try row.value("successor_sealed"),
            successorIsCurrent: try row.value("successor_is_current"))
    }

    // MARK: Signing keys

    public func signingKeys() async throws -> [StoredSigningKey] {
        try await keys(on: nil)
    }

    public func rotateSigningKeys(_ rotation: SigningKeyRotation) async throws -> SigningKeyRotation.Plan {
        try await transaction { connection in
            // Instances starting together take turns; the second plans on the first's result.
            try await self.execute("LOCK TABLE oauth_signing_keys IN EXCLUSIVE MODE", on: connection)
            let plan = rotation.plan(try await self.keys(on: connection))
            for keyID in plan.retire {
                try await self.execute(
                    "UPDATE oauth_signing_keys SET retired_at = \(rotation.now.storeValue) WHERE key_id = \(keyID)", on: connection)
            }
            if let key = plan.add {
                try await self.execute(
                    """
                    INSERT INTO oauth_signing_keys (key_id, private_key, created_at)
                    VALUES (\(key.keyID), \(key.privateKey), \(key.createdAt.storeValue))
                    """, on: connection)
            }
            for keyID in plan.delete {
                try await self.execute("DELETE FROM oauth_signing_keys WHERE key_id = \(keyID)", on: connection)
            }
            return plan
        }
    }

    public func resealSigningKey(keyID: String, privateKey: Data) async throws {
        try await execute("UPDATE oauth_signing_keys SET private_key = \(privateKey) WHERE key_id = \(keyID)")
    }

    private func keys(on connection: PostgresConnection?) async throws -> [StoredSigningKey] {
        try await rows("SELECT * FROM oauth_signing_keys ORDER BY created_at DESC, added_order DESC", on: connection).map { row in
            StoredSigningKey(
                keyID: try row.value("key_id"), privateKey: try row.value("private_key"), createdAt: try row.date("created_at"),
                retiredAt: try row.optionalDate("retired_at"))
        }
    }

    // MARK: Local users

    public func insertLocalUser(_ user: LocalUser) async throws -> LocalUser? {
        let inserted = try await rows(
            """
            INSERT INTO idp_users (id, email, name, password_hash, created_at)
            VALUES (\(user.id), \(user.email), \(user.name), \(user.passwordHash), \(user.createdAt.storeValue))
            ON CONFLICT DO NOTHING RETURNING *
            """)
        return try inserted.first.map(Self.localUser)
    }

    public func updateLocalUser(email: String, name: String?, passwordHash: String) async throws -> LocalUser? {
        try await rows(
            """
            UPDATE idp_users SET name = coalesce(\(name), name), password_hash = \(passwordHash)
            WHERE lower(email) = lower(\(email)) RETURNING *
            """
        ).first.map(Self.localUser)
    }

    public func localUser(email: String) async throws -> LocalUser? {
        try await rows("SELECT * FROM idp_users WHERE lower(email) = lower(\(email))").first.map(Self.localUser)
    }

    public func localUser(id: String) async throws -> LocalUser? {
        try await rows("SELECT * FROM idp_users WHERE id = \(id)").first.map(Self.localUser)
    }

    public func localUserCount() async throws -> Int {
        try await rows("SELECT count(*) AS n FROM idp_users").first?.value("n", as: Int.self) ?? 0
    }

    static func localUser(_ row: PostgresRandomAccessRow) throws -> LocalUser {
        LocalUser(
            id: try row.value("id"), email: try row.value("email"), name: try row.value("name"),
            passwordHash: try row.value("password_hash"), createdAt: try row.date("created_at"))
    }

    // MARK: Housekeeping

    public func purge(_ cutoffs: PurgeCutoffs) async throws {
        let expired = cutoffs.expiredBefore.storeValue
        try await transaction { connection in
            // Used codes are kept until they expire so a replay is recognised and revokes its family.
            try await self.execute("DELETE FROM oauth_codes WHERE expires_at < \(expired)", on: connection)
            try await self.execute("DELETE FROM oauth_refresh_tokens WHERE expires_at < \(expired)", on: connection)
            try await self.execute("DELETE FROM oauth_refresh_families WHERE expires_at < \(expired)", on: connection)
            try await self.execute(
                """
                UPDATE oauth_refresh_tokens SET successor_sealed = NULL
                WHERE successor_sealed IS NOT NULL AND rotated_at < \(cutoffs.successorsRotatedBefore.storeValue)
                """, on: connection)
            try await self.execute(
                "DELETE FROM oauth_clients WHERE last_used_at IS NULL AND registered_at < \(cutoffs.unusedClientsRegisteredBefore.storeValue)",
                on: connection)
            try await self.execute("DELETE FROM idp_pending_logins WHERE expires_at < \(expired)", on: connection)
            try await self.execute(
                "DELETE FROM idp_login_sessions WHERE created_at < \(cutoffs.loginSessionsCreatedBefore.storeValue)", on: connection)
            // MCP sessions unused for a week are past any idle timeout.
            try await self.execute("DELETE FROM mcp_sessions WHERE last_seen < \(expired - 7 * 86_400)", on: connection)
            try await self.execute("DELETE FROM rate_windows WHERE window_start + window_seconds < \(expired)", on: connection)
            // Sign-in failures older than a week are past any lockout (GATEHOUSE_SIGN_IN_LOCKOUT is at most a day).
            try await self.execute("DELETE FROM sign_in_failures WHERE last_failure < \(expired - 7 * 86_400)", on: connection)
        }
    }
}
