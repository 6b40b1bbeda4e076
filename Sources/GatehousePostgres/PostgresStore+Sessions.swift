import Foundation
import GatehouseCore
import GatehouseMCP
import PostgresNIO

extension PostgresStore: SharedSessions {
    /// The LISTEN/NOTIFY channel of ended sessions; the payload is the session id (useless without
    /// its owner's token, and the database's readers hold tokens' hashes anyway).
    static let endedSessionChannel = "gatehouse_ended_sessions"

    public func save(_ session: SharedSession) async throws {
        try await execute(
            """
            INSERT INTO mcp_sessions (id_hash, protocol_version, owner_issuer, owner_subject, client_capabilities, last_seen)
            VALUES (encode(sha256(convert_to(\(session.id), 'UTF8')), 'hex'), \(session.protocolVersion), \(session.ownerIssuer),
                    \(session.ownerSubject), \(session.clientCapabilities), \(session.lastSeen.storeValue))
            """)
    }

    public func session(id: String) async throws -> SharedSession? {
        try await rows("SELECT * FROM mcp_sessions WHERE id_hash = encode(sha256(convert_to(\(id), 'UTF8')), 'hex')").first.map { row in
            SharedSession(
                id: id, protocolVersion: try row.value("protocol_version"), ownerIssuer: try row.value("owner_issuer"),
                ownerSubject: try row.value("owner_subject"), clientCapabilities: try row.value("client_capabilities"),
                lastSeen: try row.date("last_seen"))
        }
    }

    public func touch(id: String, lastSeen: Date) async throws {
        try await execute(
            "UPDATE mcp_sessions SET last_seen = \(lastSeen.storeValue) WHERE id_hash = encode(sha256(convert_to(\(id), 'UTF8')), 'hex')")
    }

    public func end(id: String) async throws {
        try await transaction { connection in
            try await self.execute(
                "DELETE FROM mcp_sessions WHERE id_hash = encode(sha256(convert_to(\(id), 'UTF8')), 'hex')", on: connection)
            try await self.execute("SELECT pg_notify(\(Self.endedSessionChannel), \(id))", on: connection)
        }
    }

    public func followEndedSessions(_ notice: @escaping @Sendable (ChangeNotice<String>) -> Void) async {
        await follow(Self.endedSessionChannel, notice)
    }
}
