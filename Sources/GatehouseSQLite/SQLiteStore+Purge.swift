import Foundation
import GRDB
import GatehouseOAuth

extension SQLiteStore {
    public func purge(_ cutoffs: PurgeCutoffs) async throws {
        try await write { db in
            // Used codes are kept until they expire so a replay is recognised and revokes its family.
            let expired = cutoffs.expiredBefore.storeValue
            try db.execute(sql: "DELETE FROM oauth_codes WHERE expires_at < ?", arguments: [expired])
            try db.execute(sql: "DELETE FROM oauth_refresh_tokens WHERE expires_at < ?", arguments: [expired])
            try db.execute(sql: "DELETE FROM oauth_refresh_families WHERE expires_at < ?", arguments: [expired])
            try db.execute(
                sql: "UPDATE oauth_refresh_tokens SET successor_sealed = NULL WHERE successor_sealed IS NOT NULL AND rotated_at < ?",
                arguments: [cutoffs.successorsRotatedBefore.storeValue])
            try db.execute(
                sql: "DELETE FROM oauth_clients WHERE last_used_at IS NULL AND registered_at < ?",
                arguments: [cutoffs.unusedClientsRegisteredBefore.storeValue])
            try db.execute(sql: "DELETE FROM idp_pending_logins WHERE expires_at < ?", arguments: [expired])
            try db.execute(
                sql: "DELETE FROM idp_login_sessions WHERE created_at < ?", arguments: [cutoffs.loginSessionsCreatedBefore.storeValue])
        }
    }
}
