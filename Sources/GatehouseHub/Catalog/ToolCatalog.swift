/// The kinds of tools users can activate on this hub.
public struct ToolCatalog: Sendable {
    public let kinds: [ToolKind]

    public init(_ kinds: [ToolKind]) {
        self.kinds = kinds
    }

    /// The standard catalog: notes, memory and http_fetch (which can send the user's token for
    /// one of their `accounts`, when users may connect those).
    public static func standard(allowPrivateFetches: Bool, accounts: AccountAccess? = nil) -> ToolCatalog {
        ToolCatalog([.notes, .memory, .httpFetch(allowPrivateAddresses: allowPrivateFetches, accounts: accounts)])
    }

    public func kind(named name: String) -> ToolKind? { kinds.first { $0.name == name } }
}
