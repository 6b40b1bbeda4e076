import GRDB

/// The versioned schema. Migrations are append-only: a released one is never edited, a
/// change is a new migration. `SQLiteStore.init` applies the pending ones.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-authorization-server") { db in
            try db.execute(
                sql: """
                    CREATE TABLE oauth_clients (
                        id TEXT PRIMARY KEY NOT NULL,
                        secret_hash TEXT,
                        metadata TEXT NOT NULL,
                        registered_at REAL NOT NULL
                    );
                    CREATE TABLE oauth_codes (
                        hash TEXT PRIMARY KEY NOT NULL,
                        client_id TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        resource TEXT NOT NULL,
                        auth_time REAL NOT NULL,
                        redirect_uri TEXT,
                        code_challenge TEXT NOT NULL,
                        expires_at REAL NOT NULL,
                        used_at REAL,
                        family_id TEXT
                    );
                    CREATE TABLE oauth_refresh_families (
                        id TEXT PRIMARY KEY NOT NULL,
                        client_id TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        resource TEXT NOT NULL,
                        auth_time REAL NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        revoked_at REAL
                    );
                    CREATE TABLE oauth_refresh_tokens (
                        hash TEXT PRIMARY KEY NOT NULL,
                        family_id TEXT NOT NULL REFERENCES oauth_refresh_families(id) ON DELETE CASCADE,
                        issued_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        rotated_at REAL
                    );
                    CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens(family_id);
                    CREATE TABLE oauth_signing_keys (
                        key_id TEXT PRIMARY KEY NOT NULL,
                        private_key BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        retired_at REAL
                    );
                    CREATE TABLE idp_users (
                        id TEXT PRIMARY KEY NOT NULL,
                        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        name TEXT,
                        password_hash TEXT,
                        created_at REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-hub") { db in
            // Times are UTC text ("2026-11-23 06:40:12"), so `sqlite3 hub.db` shows them readably.
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id INTEGER PRIMARY KEY,
                        issuer TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        email TEXT,
                        name TEXT,
                        oauth_provider TEXT NOT NULL,
                        organization_id TEXT,
                        created_at TEXT NOT NULL,
                        last_seen_at TEXT NOT NULL,
                        UNIQUE (issuer, subject)
                    );
                    CREATE TABLE user_tools (
                        id INTEGER PRIMARY KEY,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        tool_name TEXT NOT NULL,
                        config TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        UNIQUE (user_id, tool_name)
                    );
                    CREATE TABLE user_notes (
                        id INTEGER PRIMARY KEY,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        text TEXT NOT NULL,
                        created_at TEXT NOT NULL
                    );
                    CREATE INDEX user_notes_user ON user_notes(user_id, id);
                    CREATE TABLE user_memory (
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        key TEXT NOT NULL,
                        value TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        PRIMARY KEY (user_id, key)
                    );
                    """)
        }
        migrator.registerMigration("v3-refresh-successors-client-use") { db in
            // The successor handed out again to a concurrent refresh (sealed, for the grace
            // window), and when a registered client was last used (unused ones expire).
            try db.execute(
                sql: """
                    ALTER TABLE oauth_refresh_tokens ADD COLUMN successor_hash TEXT;
                    ALTER TABLE oauth_refresh_tokens ADD COLUMN successor_sealed BLOB;
                    ALTER TABLE oauth_clients ADD COLUMN last_used_at REAL;
                    """)
        }
        migrator.registerMigration("v4-upstream-login") { db in
            // Sign-in through an upstream identity provider: which upstream identity is which
            // local user, the round trips waiting for the provider's callback, each login's
            // sealed upstream tokens (linked from codes and refresh families), and consents.
            try db.execute(
                sql: """
                    CREATE TABLE idp_upstream_identities (
                        issuer TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        user_id TEXT NOT NULL REFERENCES idp_users(id) ON DELETE CASCADE,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (issuer, subject)
                    );
                    CREATE TABLE idp_pending_logins (
                        state_hash TEXT PRIMARY KEY NOT NULL,
                        sealed_request TEXT NOT NULL,
                        sealed_secrets BLOB NOT NULL,
                        expires_at REAL NOT NULL
                    );
                    CREATE TABLE idp_login_sessions (
                        id TEXT PRIMARY KEY NOT NULL,
                        user_id TEXT NOT NULL REFERENCES idp_users(id) ON DELETE CASCADE,
                        organization_id TEXT,
                        sealed_tokens BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        checked_at REAL NOT NULL
                    );
                    CREATE TABLE idp_consents (
                        user_id TEXT NOT NULL REFERENCES idp_users(id) ON DELETE CASCADE,
                        client_id TEXT NOT NULL,
                        redirect_uri TEXT NOT NULL,
                        resource TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        granted_at REAL NOT NULL,
                        PRIMARY KEY (user_id, client_id)
                    );
                    ALTER TABLE oauth_codes ADD COLUMN login_session_id TEXT;
                    ALTER TABLE oauth_refresh_families ADD COLUMN login_session_id TEXT;
                    """)
        }
        migrator.registerMigration("v5-user-connections") { db in
            // Hub users' connections to remote MCP servers: the sealed login, who may refresh it
            // until when, and the sign-ins waiting for the browser to come back.
            try db.execute(
                sql: """
                    CREATE TABLE user_connections (
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        server_url TEXT NOT NULL,
                        status TEXT NOT NULL,
                        sealed_login TEXT,
                        refresh_claim TEXT,
                        refresh_claim_until REAL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        PRIMARY KEY (user_id, name)
                    );
                    CREATE TABLE user_pending_connects (
                        state_hash TEXT PRIMARY KEY NOT NULL,
                        user_id INTEGER NOT NULL,
                        name TEXT NOT NULL,
                        sealed_authorization TEXT NOT NULL,
                        expires_at REAL NOT NULL,
                        FOREIGN KEY (user_id, name) REFERENCES user_connections(user_id, name) ON DELETE CASCADE
                    );
                    """)
        }
        migrator.registerMigration("v6-connection-kinds") { db in
            // Users' accounts at the operator's OAuth providers, beside their MCP servers.
            try db.execute(sql: "ALTER TABLE user_connections ADD COLUMN kind TEXT NOT NULL DEFAULT 'mcp_server'")
        }
        return migrator
    }
}
