import GatehouseCore
import Hummingbird
import NIOCore

/// The per-request context of every Gatehouse route.
///
/// It carries the caller's ``Principal``, which authentication middleware sets and
/// the MCP endpoint hands to every tool. Without a token verifier it stays
/// ``Principal/anonymous``.
public struct GatehouseRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller of this request.
    public var principal: Principal = .anonymous
    private let channel: any Channel

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The peer's IP address, for per-address limits.
    public var remoteAddress: String { channel.remoteAddress?.ipAddress ?? "unknown" }
}
