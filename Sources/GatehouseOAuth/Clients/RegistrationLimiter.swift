import Foundation

/// Bounds Dynamic Client Registration: registration is open to anyone (RFC 7591 §3 allows
/// it, MCP clients rely on it), so a flood must not fill the store. A fixed one-minute window
/// per remote address, and one for all addresses together.
actor RegistrationLimiter {
    private let perAddress: Int
    private let overall: Int
    private let now: @Sendable () -> Date
    private var windowStart = Date.distantPast
    private var counts: [String: Int] = [:]
    private var total = 0

    init(perAddressPerMinute: Int, overallPerMinute: Int, now: @escaping @Sendable () -> Date) {
        self.perAddress = perAddressPerMinute
        self.overall = overallPerMinute
        self.now = now
    }

    /// Counts one registration from `address`; returns the seconds to wait when over the limit.
    func admit(_ address: String) -> Int? {
        let current = now()
        if current.timeIntervalSince(windowStart) >= 60 {
            windowStart = current
            counts.removeAll(keepingCapacity: true)
            total = 0
        }
        guard total < overall, counts[address, default: 0] < perAddress else {
            return max(1, Int(60 - current.timeIntervalSince(windowStart)))
        }
        total += 1
        counts[address, default: 0] += 1
        return nil
    }
}
