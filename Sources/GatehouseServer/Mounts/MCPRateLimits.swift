import Foundation
import GatehouseCore

/// The MCP endpoint's rate limits (per user, per client, per tool) and the counter they count
/// in; ``MCPEndpointMount`` applies them after authentication.
public struct MCPRateLimits: Sendable {
    public let policy: RateLimitPolicy
    public let counter: any RateCounter
    let now: @Sendable () -> Date

    /// - Parameter counter: the store's (``Stores/rateCounter``) so instances sharing a store
    ///   share the limits; a ``LocalRateCounter`` for one process.
    public init(settings: RateLimitSettings, counter: any RateCounter, now: @escaping @Sendable () -> Date = { Date() }) {
        self.policy = RateLimitPolicy(settings: settings)
        self.counter = counter
        self.now = now
    }

    /// The limits `configuration` sets, counted in `stores` when there are some; `nil` when no
    /// limit is set.
    public static func configured(_ configuration: GatehouseConfiguration, stores: Stores?) -> MCPRateLimits? {
        configuration.rateLimits.isEmpty
            ? nil : MCPRateLimits(settings: configuration.rateLimits, counter: stores?.rateCounter ?? LocalRateCounter())
    }

    func middleware<Context: GatehouseContext>(maxBodyBytes: Int) -> RateLimitMiddleware<Context> {
        RateLimitMiddleware(policy: policy, counter: counter, maxBodyBytes: maxBodyBytes, now: now)
    }
}
