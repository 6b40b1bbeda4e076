import GatehouseCore

/// A store shared by several instances that tells each of them when a user's tools changed on
/// another one, so a hub drops its cached copy at once instead of after ``Hub``'s cache lifetime.
public protocol HubChangeFeed: Sendable {
    /// Calls `notice` with the user id of every change, from any instance, and each time it
    /// (again) listens, until cancelled.
    func followToolChanges(_ notice: @escaping @Sendable (ChangeNotice<Int64>) -> Void) async
}
