/// The MCP protocol revisions Gatehouse speaks, and how each one is negotiated.
///
/// Revisions up to 2025-11-25 are *session-era*: the client negotiates a version with
/// `initialize` and the server may bind it to an `Mcp-Session-Id`. 2026-07-28 is
/// *stateless*: every request names its version in `_meta` and in the
/// `MCP-Protocol-Version` header, and there is no handshake.
public struct ProtocolVersion: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static let v2024_11_05 = ProtocolVersion(rawValue: "2024-11-05")
    public static let v2025_03_26 = ProtocolVersion(rawValue: "2025-03-26")
    public static let v2025_06_18 = ProtocolVersion(rawValue: "2025-06-18")
    public static let v2025_11_25 = ProtocolVersion(rawValue: "2025-11-25")
    public static let v2026_07_28 = ProtocolVersion(rawValue: "2026-07-28")

    /// Session-era revisions, newest first: the order `initialize` negotiation prefers.
    public static let sessionEra: [ProtocolVersion] = [.v2025_11_25, .v2025_06_18, .v2025_03_26, .v2024_11_05]
    /// Stateless revisions, newest first.
    public static let stateless: [ProtocolVersion] = [.v2026_07_28]
    /// Every revision served, newest first.
    public static let all: [ProtocolVersion] = stateless + sessionEra

    /// True for revisions negotiated with `initialize`.
    public var isSessionEra: Bool { Self.sessionEra.contains(self) }
    /// True for revisions Gatehouse serves at all.
    public var isSupported: Bool { Self.all.contains(self) }

    /// The answer to an `initialize` that asks for `requested`.
    ///
    /// Lifecycle (2025-11-25, "Version Negotiation"): if the server supports the requested
    /// version it MUST respond with the same version; otherwise it MUST respond with
    /// another version it supports, which SHOULD be the latest. `initialize` does not
    /// exist in the stateless revision, so a request for it gets the newest session-era one.
    public static func negotiateInitialize(requested: String) -> ProtocolVersion {
        let version = ProtocolVersion(rawValue: requested)
        return version.isSessionEra ? version : sessionEra[0]
    }

    /// Revisions that allow JSON-RPC batches in a POST body (removed in 2025-06-18).
    public var allowsBatches: Bool { self <= .v2025_03_26 }

    /// Revisions in which invalid tool arguments are a tool execution error (`isError`)
    /// rather than a JSON-RPC -32602 (2025-11-25, tools "Error Handling", SEP-1303).
    public var reportsInputErrorsAsToolResults: Bool { self >= .v2025_11_25 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
