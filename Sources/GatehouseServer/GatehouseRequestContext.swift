import GatehouseCore
import Hummingbird

/// The per-request context of every Gatehouse route.
///
/// It carries the caller's ``Principal``, which authentication middleware sets and
/// the MCP endpoint hands to every tool. Without a token verifier it stays
/// ``Principal/anonymous``.
public struct GatehouseRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller of this request.
    public var principal: Principal = .anonymous

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
