import Foundation
import GatehouseCore
import Synchronization

/// Slows password guessing down: per account and per client address, a few failures are free,
/// then each failure makes the next attempt wait twice as long, up to a lockout. While one is
/// blocked, attempts are refused without checking the password, so guessing costs the server
/// nothing. Failures are forgotten one lockout period after the last one; a successful sign-in
/// clears its account (not its address, or one valid account would reset a guesser's count).
///
/// Counted in memory: one process sees its own attempts (instances behind a load balancer each
/// apply the limits to what they see).
public final class SignInThrottle: Sendable {
    /// How many failures are free and how long the waits get.
    public struct Policy: Sendable {
        public var freeFailuresPerAccount = 5
        public var freeFailuresPerAddress = 20
        /// The wait after the first failure past the free ones; it doubles with each further one.
        public var firstDelay: TimeInterval = 1
        /// The longest wait, reached after about ten failures past the free ones.
        public var lockout: TimeInterval = 900

        public init() {}
    }

    /// Why an attempt may not be made now.
    public struct Block: Sendable, Equatable {
        public enum Scope: Sendable, Equatable { case account, address }
        public var scope: Scope
        /// Seconds until the next attempt is allowed.
        public var retryAfter: Int
        /// True when the wait has reached the lockout.
        public var isLockout: Bool
    }

    /// Failures of one account or address.
    struct Record: Equatable {
        var failures = 0
        var lastFailure = Date.distantPast
        var blockedUntil = Date.distantPast
        var isLockout = false
    }

    public let policy: Policy
    private let capacity: Int
    private let state = Mutex<(accounts: [String: Record], addresses: [String: Record])>(([:], [:]))

    public init(policy: Policy = Policy(), capacity: Int = 100_000) {
        self.policy = policy
        self.capacity = capacity
    }

    /// Whether an attempt for `account` from `address` must wait, and how long.
    public func block(account: String, address: String, now: Date) -> Block? {
        let (byAccount, byAddress) = state.withLock { ($0.accounts[Self.key(account)], $0.addresses[ClientAddress.limitKey(address)]) }
        let blocks = [(byAccount, Block.Scope.account), (byAddress, .address)].compactMap { record, scope -> Block? in
            guard let record, record.blockedUntil > now else { return nil }
            return Block(scope: scope, retryAfter: Int(record.blockedUntil.timeIntervalSince(now).rounded(.up)), isLockout: record.isLockout)
        }
        return blocks.max { $0.retryAfter < $1.retryAfter }
    }

    /// Counts a failed attempt; returns the account's failure count and the block it caused, if any.
    @discardableResult
    public func recordFailure(account: String, address: String, now: Date) -> (failures: Int, block: Block?) {
        let failures = state.withLock { state -> Int in
            if state.accounts.count + state.addresses.count >= capacity { Self.forgetStale(&state, policy: policy, capacity: capacity, now: now) }
            let accountKey = Self.key(account)
            let addressKey = ClientAddress.limitKey(address)
            state.accounts[accountKey] = Self.fail(state.accounts[accountKey], free: policy.freeFailuresPerAccount, policy: policy, now: now)
            state.addresses[addressKey] = Self.fail(state.addresses[addressKey], free: policy.freeFailuresPerAddress, policy: policy, now: now)
            return state.accounts[accountKey]?.failures ?? 0
        }
        return (failures, block(account: account, address: address, now: now))
    }

    /// A successful sign-in clears the account's failures.
    public func recordSuccess(account: String) {
        _ = state.withLock { $0.accounts.removeValue(forKey: Self.key(account)) }
    }

    static func fail(_ record: Record?, free: Int, policy: Policy, now: Date) -> Record {
        var record = record ?? Record()
        if now.timeIntervalSince(record.lastFailure) > policy.lockout { record = Record() }
        record.failures += 1
        record.lastFailure = now
        let past = record.failures - free
        if past > 0 {
            let delay = min(policy.lockout, policy.firstDelay * pow(2, Double(min(past - 1, 30))))
            record.blockedUntil = now.addingTimeInterval(delay)
            record.isLockout = delay >= policy.lockout
        }
        return record
    }

    private static func key(_ account: String) -> String {
        account.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// Drops records whose failures are forgotten; when that is not enough (a flood of distinct
    /// names), keeps only the blocked ones.
    private static func forgetStale(
        _ state: inout (accounts: [String: Record], addresses: [String: Record]), policy: Policy, capacity: Int, now: Date
    ) {
        let live: (Record) -> Bool = { now.timeIntervalSince($0.lastFailure) <= policy.lockout }
        state.accounts = state.accounts.filter { live($0.value) }
        state.addresses = state.addresses.filter { live($0.value) }
        guard state.accounts.count + state.addresses.count >= capacity else { return }
        state.accounts = state.accounts.filter { $0.value.blockedUntil > now }
        state.addresses = state.addresses.filter { $0.value.blockedUntil > now }
    }
}
