import Foundation
import GatehouseCore

/// Slows password guessing down: per account and per client address, a few failures are free,
/// then each failure makes the next attempt wait twice as long, up to a lockout. While one is
/// blocked, attempts are refused without checking the password, so guessing costs the server
/// nothing. Failures are forgotten one lockout period after the last one; a successful sign-in
/// clears its account (not its address, or one valid account would reset a guesser's count).
///
/// The records live in ``SignInFailureRecords``: this process's memory, or the PostgreSQL store
/// that instances behind a balancer share, so the limits are the deployment's.
public struct SignInThrottle: Sendable {
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

    public let policy: Policy
    let records: any SignInFailureRecords

    /// - Parameter records: where failures are counted; by default this process's memory.
    public init(policy: Policy = Policy(), records: (any SignInFailureRecords)? = nil) {
        self.policy = policy
        self.records = records ?? LocalSignInFailures(forgetAfter: policy.lockout)
    }

    /// Whether an attempt for `account` from `address` must wait, and how long.
    public func block(account: String, address: String, now: Date) async throws -> Block? {
        let (accountKey, addressKey) = (Self.accountKey(account), Self.addressKey(address))
        let found = try await records.records([accountKey, addressKey])
        return Self.block(account: found[accountKey], address: found[addressKey], now: now)
    }

    /// Counts a failed attempt; returns the account's failure count and the block it caused, if any.
    @discardableResult
    public func recordFailure(account: String, address: String, now: Date) async throws -> (failures: Int, block: Block?) {
        let (accountKey, addressKey) = (Self.accountKey(account), Self.addressKey(address))
        let policy = self.policy
        let changed = try await records.update([accountKey, addressKey]) { key, record in
            Self.fail(record, free: key == accountKey ? policy.freeFailuresPerAccount : policy.freeFailuresPerAddress, policy: policy, now: now)
        }
        return (changed[accountKey]?.failures ?? 0, Self.block(account: changed[accountKey], address: changed[addressKey], now: now))
    }

    /// A successful sign-in clears the account's failures.
    public func recordSuccess(account: String) async throws {
        _ = try await records.update([Self.accountKey(account)]) { _, _ in nil }
    }

    static func block(account: SignInFailureRecord?, address: SignInFailureRecord?, now: Date) -> Block? {
        let blocks = [(account, Block.Scope.account), (address, .address)].compactMap { record, scope -> Block? in
            guard let record, record.blockedUntil > now else { return nil }
            return Block(scope: scope, retryAfter: Int(record.blockedUntil.timeIntervalSince(now).rounded(.up)), isLockout: record.isLockout)
        }
        return blocks.max { $0.retryAfter < $1.retryAfter }
    }

    static func fail(_ record: SignInFailureRecord?, free: Int, policy: Policy, now: Date) -> SignInFailureRecord {
        var record = record ?? SignInFailureRecord()
        if now.timeIntervalSince(record.lastFailure) > policy.lockout { record = SignInFailureRecord() }
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

    /// Any spelling of an account is one account.
    static func accountKey(_ account: String) -> String {
        "account:" + account.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// An address, or for IPv6 its /64.
    static func addressKey(_ address: String) -> String {
        "address:" + ClientAddress.limitKey(address)
    }
}
