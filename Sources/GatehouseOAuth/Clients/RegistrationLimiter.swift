import Foundation
import GatehouseCore

/// Bounds Dynamic Client Registration: registration is open to anyone (RFC 7591 §3 allows
/// it, MCP clients rely on it), so a flood must not fill the store, and one flooding peer must
/// not lock every other client out. Each address (an IPv6 /64) has its own budget per minute;
/// a much larger ceiling for all addresses together bounds what many addresses can store
/// (unused registrations expire, see ``AuthorizationServerSettings/unusedRegistrationLifetime``).
actor RegistrationLimiter {
    /// The outcome of ``admit(_:)``.
    enum Admission: Equatable {
        case admitted
        /// Over a limit; `firstRefusal` is true for the first refusal of this address in the
        /// window, so a flood is logged once, not once per request.
        case throttled(retryAfter: Int, firstRefusal: Bool)
    }

    private let perAddress: Int
    private let overall: Int
    private let now: @Sendable () -> Date
    private var windowStart = Date.distantPast
    private var counts: [String: Int] = [:]
    private var total = 0
    /// Addresses refused in this window (already reported).
    private var refused: Set<String> = []

    init(perAddressPerMinute: Int, overallPerMinute: Int, now: @escaping @Sendable () -> Date) {
        self.perAddress = perAddressPerMinute
        self.overall = overallPerMinute
        self.now = now
    }

    /// Counts one registration from `address`.
    func admit(_ address: String) -> Admission {
        let current = now()
        if current.timeIntervalSince(windowStart) >= 60 {
            windowStart = current
            counts.removeAll(keepingCapacity: true)
            refused.removeAll(keepingCapacity: true)
            total = 0
        }
        let key = ClientAddress.limitKey(address)
        guard total < overall, counts[key, default: 0] < perAddress else {
            let retryAfter = max(1, Int(60 - current.timeIntervalSince(windowStart)))
            return .throttled(retryAfter: retryAfter, firstRefusal: refused.insert(key).inserted)
        }
        total += 1
        counts[key, default: 0] += 1
        return .admitted
    }
}
