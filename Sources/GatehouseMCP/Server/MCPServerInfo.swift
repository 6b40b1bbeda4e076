/// How the server introduces itself: `serverInfo` in `initialize` results and in
/// the `_meta` of stateless results, and the optional `instructions`.
public struct MCPServerInfo: Sendable, Equatable {
    public var name: String
    public var version: String
    public var title: String?
    /// Guidance for the model on how to use this server's tools; sent beside `serverInfo`, not in it.
    public var instructions: String?

    public init(name: String, version: String, title: String? = nil, instructions: String? = nil) {
        self.name = name
        self.version = version
        self.title = title
        self.instructions = instructions
    }
}
