import Foundation
import GatehouseOAuth
import Testing

@Suite("Sign-in throttle")
struct SignInThrottleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func fiveFailuresAreFreeThenTheWaitDoublesUpToTheLockout() async throws {
        let throttle = SignInThrottle()
        for attempt in 1...5 {
            #expect(try await throttle.recordFailure(account: "alice@example.com", address: "10.0.0.1", now: start).block == nil, "attempt \(attempt)")
        }
        var waits: [Int] = []
        var now = start
        for _ in 0..<12 {
            now += TimeInterval(waits.last ?? 0)
            guard let block = try await throttle.recordFailure(account: "alice@example.com", address: "10.0.0.\(waits.count + 2)", now: now).block else {
                Issue.record("no block")
                return
            }
            waits.append(block.retryAfter)
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900])
        #expect(try await throttle.block(account: "alice@example.com", address: "10.0.1.1", now: now)?.isLockout == true)
        // Any spelling of the account is the same account.
        #expect(try await throttle.block(account: " ALICE@example.com", address: "10.0.1.1", now: now)?.scope == .account)
        // Once the lockout has passed, the account may try again.
        #expect(try await throttle.block(account: "alice@example.com", address: "10.0.1.1", now: now + 900) == nil)
    }

    @Test func oneAddressGuessingManyAccountsIsBlockedByAddress() async throws {
        let throttle = SignInThrottle()
        for index in 0..<21 { try await throttle.recordFailure(account: "user\(index)@example.com", address: "2001:db8::\(index)", now: start) }
        let block = try await throttle.block(account: "fresh@example.com", address: "2001:db8::ffff", now: start)
        #expect(block?.scope == .address)  // the same IPv6 /64
        #expect(try await throttle.block(account: "fresh@example.com", address: "2001:db9::1", now: start) == nil)
    }

    @Test func successClearsTheAccountButNotTheAddress() async throws {
        let throttle = SignInThrottle()
        for _ in 0..<7 { try await throttle.recordFailure(account: "alice@example.com", address: "10.0.0.1", now: start) }
        try await throttle.recordSuccess(account: "alice@example.com")
        #expect(try await throttle.block(account: "alice@example.com", address: "10.0.0.9", now: start) == nil)
        for index in 0..<14 { try await throttle.recordFailure(account: "x\(index)@example.com", address: "10.0.0.1", now: start) }
        #expect(try await throttle.block(account: "alice@example.com", address: "10.0.0.1", now: start)?.scope == .address)
    }

    @Test func failuresAreForgottenOneLockoutAfterTheLast() async throws {
        var policy = SignInThrottle.Policy()
        policy.lockout = 60
        let throttle = SignInThrottle(policy: policy)
        for _ in 0..<5 { try await throttle.recordFailure(account: "alice@example.com", address: "10.0.0.1", now: start) }
        #expect(try await throttle.recordFailure(account: "alice@example.com", address: "10.0.0.1", now: start + 61).failures == 1)
    }

    @Test func aBruteForceIsStoppedWhileTheRightPasswordWorksAfterTheLockout() async throws {
        let clock = TestClock()
        var settings = AuthorizationServerSettings(issuer: "http://127.0.0.1:8884", resources: ["http://127.0.0.1:8884/mcp"], scopesSupported: [])
        settings.signInThrottle.lockout = 30
        let harness = try Harness()
        let server = AuthorizationServer(settings: settings, store: harness.store, secrets: harness.secrets, now: clock.function)
        let alice = try #require(try await server.users.create(email: "alice@example.com", name: nil, password: "correct horse battery"))
        var checked = 0
        var throttled = 0
        for attempt in 0..<100 {
            switch try await server.users.signIn(email: "alice@example.com", password: "guess \(attempt)", from: "10.0.0.1") {
            case .refused: checked += 1
            case .throttled: throttled += 1
            case .signedIn, .busy: Issue.record("unexpected outcome")
            }
            clock.advance(0.5)
        }
        // 50 seconds of guessing twice a second: the 5 free tries, then one after each wait
        // of 1, 2, 4, 8, 16 and 30 s (the lockout here).
        #expect(checked <= 11)
        #expect(throttled >= 89)
        // Locked: even the right password is not checked now.
        guard case .throttled(let block) = try await server.users.signIn(email: "alice@example.com", password: "correct horse battery", from: "10.0.0.2") else {
            Issue.record("the right password got through the lockout")
            return
        }
        clock.advance(TimeInterval(block.retryAfter))
        #expect(try await server.users.signIn(email: "alice@example.com", password: "correct horse battery", from: "10.0.0.2") == .signedIn(alice))
    }

    @Test func hashingRunsOffTheCooperativePoolAndRefusesPastItsQueue() async throws {
        let work = PasswordWork(width: 1, queue: 2)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do {
                        _ = try await work.run { Thread.sleep(forTimeInterval: 0.2) }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 3)  // one running, two waiting
        #expect(results.filter { !$0 }.count == 3)
    }
}
