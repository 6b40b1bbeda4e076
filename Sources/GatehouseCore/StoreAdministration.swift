/// What an operator does to a store beside the engines' own calls: see which migrations it has
/// and copy it while it is in use (`gatehouse db migrate`, `gatehouse db backup`).
public protocol StoreAdministration: Sendable {
    /// Where the store is, for messages (a file path, or a URL without its password).
    var location: String { get }
    /// The migrations applied, oldest first.
    func appliedMigrations() async throws -> [String]
    /// Copies the store to `destination`, which must not exist, while it is in use.
    func backup(to destination: String) throws
}
