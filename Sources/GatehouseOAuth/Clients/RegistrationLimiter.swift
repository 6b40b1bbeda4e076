import Foundation
import GatehouseCore

/// Bounds Dynamic Client Registration: registration is open to anyone (RFC 7591 §3 allows
/// it, MCP clients rely on it), so a flood must not fill the store, and one flooding peer must
/// not lock every other client out. Each address (an IPv6 /64) has its own budget per minute;
/// a much larger ceiling for all addresses together bounds what many addresses can store
/// (unused registrations expire, see ``AuthorizationServerSettings/unusedRegistrationLifetime``).
///
/// The counts live in a ``RateCounter``: the store's when it is shared (PostgreSQL), so the
/// budget is the deployment's, not each instance's.
struct RegistrationLimiter: Sendable {
    /// The outcome of ``admit(_:)``.
    enum Admission: Equatable {
        case admitted
        /// Over a limit; `firstRefusal` is true for the first refusal of this address in the
        /// window, so a flood is logged once, not once per request.
        case throttled(retryAfter: Int, firstRefusal: Bool)
    }

    let perAddress: RateLimit
    let overall: RateLimit
    let counter: any RateCounter
    let now: @Sendable () -> Date

    init(perAddressPerMinute: Int, overallPerMinute: Int, counter: any RateCounter, now: @escaping @Sendable () -> Date) {
        self.perAddress = RateLimit(events: perAddressPerMinute, windowSeconds: 60)
        self.overall = RateLimit(events: overallPerMinute, windowSeconds: 60)
        self.counter = counter
        self.now = now
    }

    /// Counts one registration from `address`.
    func admit(_ address: String) async throws -> Admission {
        let current = now()
        let counts = try await counter.count(
            [
                RateHit(key: "registration:address:" + ClientAddress.limitKey(address), windowSeconds: perAddress.windowSeconds),
                RateHit(key: "registration:all", windowSeconds: overall.windowSeconds),
            ], at: current)
        let (byAddress, total) = (counts[0], counts[1])
        guard byAddress.events > perAddress.events || total.events > overall.events else { return .admitted }
        let binding = byAddress.events > perAddress.events ? (byAddress, perAddress) : (total, overall)
        return .throttled(
            retryAfter: binding.0.secondsLeft(windowSeconds: binding.1.windowSeconds, now: current),
            firstRefusal: byAddress.events == perAddress.events + 1 || (byAddress.events <= perAddress.events && total.events == overall.events + 1))
    }
}
