import GatehouseCore
import GatehouseHub
import Hummingbird
import NIOCore

/// What Gatehouse's mounts know about a request once their middleware has run.
public struct GatehouseRequestState: Sendable {
    /// The authenticated caller. ``Principal/anonymous`` until ``ProtectedResourceMount``'s
    /// middleware verified a token (and for good on a server without authentication).
    public var principal: Principal = .anonymous
    /// The hub user the caller is, once ``HubMount``'s middleware provisioned them; resolved once
    /// per request and carried on from here.
    public var hubUser: HubUser?
    /// The bearer token the principal was verified from. Only for exchanging it at the provider
    /// that issued it (RFC 8693, the gateway's `exchange` identity); never logged, never sent to
    /// anything else (MCP security best practices, "Token Passthrough").
    public var bearerToken: String?

    public init() {}
}

/// A Hummingbird request context that Gatehouse's mounts can serve.
///
/// Any application's own context qualifies with one stored property and its peer's address:
///
/// ```swift
/// struct AppContext: GatehouseContext {
///     var coreContext: CoreRequestContextStorage
///     var gatehouse = GatehouseRequestState()
///     let remoteAddress: SocketAddress?
///
///     init(source: ApplicationRequestContextSource) {
///         coreContext = .init(source: source)
///         remoteAddress = source.channel.remoteAddress
///     }
/// }
/// ```
public protocol GatehouseContext: RemoteAddressRequestContext {
    /// Gatehouse's state of this request.
    var gatehouse: GatehouseRequestState { get set }
}

extension GatehouseContext {
    /// The authenticated caller of this request.
    public var principal: Principal {
        get { gatehouse.principal }
        set { gatehouse.principal = newValue }
    }

    /// The peer's IP address as text, for per-address limits and logs.
    var remoteIP: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// The request context of Gatehouse's own servers (`gatehouse hub`, `gatehouse idp`).
public struct GatehouseRequestContext: GatehouseContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var gatehouse = GatehouseRequestState()
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
