/// The kinds of tools users can activate on this hub.
public struct ToolCatalog: Sendable {
    public let kinds: [ToolKind]

    public init(_ kinds: [ToolKind]) {
        self.kinds = kinds
    }

    /// The standard catalog: notes, memory and http_fetch.
    public static func standard(allowPrivateFetches: Bool) -> ToolCatalog {
        ToolCatalog([.notes, .memory, .httpFetch(allowPrivateAddresses: allowPrivateFetches)])
    }

    public func kind(named name: String) -> ToolKind? { kinds.first { $0.name == name } }
}
