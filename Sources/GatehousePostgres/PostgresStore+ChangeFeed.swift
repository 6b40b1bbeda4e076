import GatehouseCore
import GatehouseHub
import Logging
import PostgresNIO

extension PostgresStore: HubChangeFeed {
    /// The LISTEN/NOTIFY channel of hub tool changes; the payload is the user id.
    static let toolChannel = "gatehouse_tool_changes"

    /// Tells every instance (LISTEN/NOTIFY) that `userID`'s tools changed.
    func notifyToolsChanged(userID: Int64) async throws {
        try await execute("SELECT pg_notify(\(Self.toolChannel), \(String(userID)))")
    }

    public func followToolChanges(_ notice: @escaping @Sendable (ChangeNotice<Int64>) -> Void) async {
        await follow(Self.toolChannel) { received in
            switch received {
            case .listening: notice(.listening)
            case .changed(let payload): if let userID = Int64(payload) { notice(.changed(userID)) }
            }
        }
    }

    /// Listens on `channel` on one pooled connection, and listens again (after 1 s, doubling to
    /// 30 s) when the connection or the database goes away; stops when the task is cancelled.
    /// Reports ``ChangeNotice/listening`` each time the LISTEN is in place: what was notified
    /// while it was not is lost.
    func follow(_ channel: String, _ notice: @escaping @Sendable (ChangeNotice<String>) -> Void) async {
        var delay = Duration.seconds(1)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        delay = .seconds(1)
                        notice(.listening)
                        for try await notification in notifications { notice(.changed(notification.payload)) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "not following \(channel); trying again", metadata: ["error": "\(String(reflecting: error))", "in": "\(delay)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }
}
