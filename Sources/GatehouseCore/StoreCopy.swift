import Foundation

/// One table's rows as `gatehouse db copy` moves them between backends: the same table and
/// column names on both sides, values in the few kinds both keep.
public struct StoreTable: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob(Data)
    }

    public var name: String
    public var columns: [String]
    public var rows: [[Value]]

    public init(name: String, columns: [String], rows: [[Value]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }

    /// Every table a store holds, parents before children (so foreign keys hold while rows are
    /// inserted in this order). Round trips in flight (`idp_pending_logins`, `user_pending_connects`) are not moved.
    public static let copiedInOrder = [
        "oauth_clients", "oauth_codes", "oauth_refresh_families", "oauth_refresh_tokens", "oauth_signing_keys", "idp_users",
        "idp_upstream_identities", "idp_login_sessions", "idp_consents", "users", "user_tools", "user_notes", "user_memory",
        "user_connections",
    ]
}
