import Foundation
@testable import GatehouseAuth
import GatehouseCore
import Logging
import Synchronization
import Testing

/// A JWKS endpoint the test controls: which keys it serves, whether it is up, how often it was asked.
final class FakeJWKSEndpoint: Sendable {
    private let state = Mutex<(keys: [TestKey], up: Bool, fetches: Int)>(([], true, 0))

    init(_ keys: [TestKey]) { state.withLock { $0.keys = keys } }

    func serve(_ keys: [TestKey]) { state.withLock { $0.keys = keys } }
    func setUp(_ up: Bool) { state.withLock { $0.up = up } }
    var fetches: Int { state.withLock { $0.fetches } }

    func fetch() async throws -> Data {
        let (keys, up) = state.withLock { state in
            state.fetches += 1
            return (state.keys, state.up)
        }
        guard up else { throw URLError(.cannotConnectToHost) }
        return TestIssuer.jwks(keys)
    }
}

@Suite("JWT verification")
struct JWTVerifierTests {
    static let rsa = TestKey.rsa(kid: "rsa-1")
    static let es256 = TestKey.es256(kid: "ec-1")

    private func verifier(
        _ endpoint: FakeJWKSEndpoint, algorithms: [String] = AuthSettings.supportedAlgorithms, interval: Duration = .seconds(2),
        ttl: Duration = .seconds(300), now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) -> JWTVerifier {
        let keys = JWKSCache(ttl: ttl, refetchInterval: interval, logger: Logger(label: "test"), now: now) {
            try await endpoint.fetch()
        }
        return JWTVerifier(issuer: TestIssuer.issuer, audiences: [TestIssuer.audience], algorithms: algorithms, keys: keys)
    }

    private func rejection(_ verifier: JWTVerifier, _ token: String) async -> String? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            guard case .invalidToken(let reason) = error else { return "unexpected: \(error)" }
            return reason.description
        }
    }

    @Test(arguments: [
        TestKey.rsa(kid: "rs256", algorithm: "RS256"), TestKey.rsa(kid: "rs384", algorithm: "RS384"),
        TestKey.rsa(kid: "rs512", algorithm: "RS512"), TestKey.rsa(kid: "ps256", algorithm: "PS256"),
        TestKey.rsa(kid: "rs256-no-alg", algorithm: "RS256", includeAlg: false), TestKey.es256(kid: "es256"),
        TestKey.es384(kid: "es384"), TestKey.eddsa(kid: "ed"),
    ])
    func everyAsymmetricAlgorithmVerifies(key: TestKey) async throws {
        let principal = try await verifier(FakeJWKSEndpoint([key])).verify(TestIssuer.token(TestIssuer.claims(), key: key))
        #expect(principal.subject == "user-1")
        #expect(principal.issuer == TestIssuer.issuer)
        #expect(principal.scopes == ["mcp:read"])
        #expect(principal.clientID == "client-1")
        #expect(principal.email == "user-1@example.com")
    }

    @Test func scopesComeFromScpToo() async throws {
        let claims = TestIssuer.claims(extra: ["scope": .null, "scp": ["a", "b"]]).filter { $0.value != .null }
        let principal = try await verifier(FakeJWKSEndpoint([Self.es256])).verify(TestIssuer.token(claims, key: Self.es256))
        #expect(principal.scopes == ["a", "b"])
    }

    @Test func audienceMayBeAList() async throws {
        let claims = TestIssuer.claims(audience: ["https://other.example", .string(TestIssuer.audience)])
        _ = try await verifier(FakeJWKSEndpoint([Self.es256])).verify(TestIssuer.token(claims, key: Self.es256))
    }

    @Test func hostileTokensAreRefused() async {
        let endpoint = FakeJWKSEndpoint([Self.rsa, Self.es256])
        let verifier = verifier(endpoint)
        let good = TestIssuer.claims()
        let valid = TestIssuer.token(good, key: Self.rsa)
        let parts = valid.split(separator: ".").map(String.init)
        let noneHeader = TestIssuer.segment(["alg": "none", "kid": "rsa-1"])
        let cases: [(String, String, String)] = [
            ("alg none, no signature", noneHeader + "." + parts[1] + ".", "not a signed JWT"),
            ("alg none, fake signature", noneHeader + "." + parts[1] + "." + parts[2], "algorithm none is not accepted"),
            ("HS256 keyed with the public key", TestIssuer.hmacToken(good, secret: Data(TestKey.rsaPublicKeyPEM.utf8), kid: "rsa-1"), "algorithm HS256 is not accepted"),
            ("wrong iss", TestIssuer.token(TestIssuer.claims(issuer: "https://evil.test"), key: Self.rsa), "another issuer"),
            ("wrong aud", TestIssuer.token(TestIssuer.claims(audience: "https://other.example/mcp"), key: Self.rsa), "another audience"),
            ("no aud", TestIssuer.token(good.filter { $0.key != "aud" }, key: Self.rsa), "no audience"),
            ("expired", TestIssuer.token(TestIssuer.claims(expiresIn: -120), key: Self.rsa), "expired"),
            ("no exp", TestIssuer.token(good.filter { $0.key != "exp" }, key: Self.rsa), "no exp"),
            ("not yet valid", TestIssuer.token(TestIssuer.claims(extra: ["nbf": .int(Int(Date().timeIntervalSince1970) + 600)]), key: Self.rsa), "not valid yet"),
            ("issued in the future", TestIssuer.token(TestIssuer.claims(extra: ["iat": .int(Int(Date().timeIntervalSince1970) + 600)]), key: Self.rsa), "in the future"),
            ("unknown kid", TestIssuer.token(good, key: TestKey.es256(kid: "nobody")), "unknown kid"),
            ("kid of another key type", TestIssuer.token(good, key: Self.es256, header: ["kid": "rsa-1"]), "does not match its signing key"),
            ("bad signature", parts[0] + "." + parts[1] + "." + String(parts[2].reversed()), "signature does not verify"),
            ("payload swapped", parts[0] + "." + TestIssuer.segment(.object(TestIssuer.claims(subject: "admin"))) + "." + parts[2], "signature does not verify"),
            ("truncated", String(valid.prefix(40)), "not a signed JWT"),
            ("garbage", "not-a-jwt-at-all", "not a signed JWT"),
            ("header not JSON", "eyJub3Rqc29u.e30.c2ln", "header is not"),
            ("crit extension", TestIssuer.token(good, key: Self.rsa, header: ["crit": ["exp"]]), "critical extensions"),
        ]
        for (name, token, expected) in cases {
            let reason = await rejection(verifier, token)
            #expect(reason?.contains(expected) == true, "\(name): got \(reason ?? "accepted")")
        }
    }

    @Test func algorithmAllowListIsEnforced() async {
        let verifier = verifier(FakeJWKSEndpoint([Self.rsa, Self.es256]), algorithms: ["ES256"])
        let reason = await rejection(verifier, TestIssuer.token(TestIssuer.claims(), key: Self.rsa))
        #expect(reason?.contains("RS256 is not accepted") == true)
    }

    @Test func tokenWithoutKidNeedsASingleKeyIssuer() async throws {
        let lone = TestKey.es256(kid: "lone")
        let token = TestIssuer.token(TestIssuer.claims(), key: lone, header: ["kid": .null])
        _ = try await verifier(FakeJWKSEndpoint([lone])).verify(token)
        let reason = await rejection(verifier(FakeJWKSEndpoint([lone, Self.rsa])), token)
        #expect(reason?.contains("unknown kid") == true)
    }

    @Test func rotationDuringTrafficLosesNoRequest() async throws {
        let old = TestKey.es256(kid: "old")
        let new = TestKey.es256(kid: "new")
        let endpoint = FakeJWKSEndpoint([old])
        let verifier = verifier(endpoint)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<400 {
                if i == 200 { endpoint.serve([old, new]) }  // the issuer publishes the new key, then signs with it
                let key = i < 200 ? old : (i.isMultiple(of: 2) ? new : old)
                let token = TestIssuer.token(TestIssuer.claims(subject: "u\(i)"), key: key)
                group.addTask { (try? await verifier.verify(token)) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 0)
        #expect(endpoint.fetches <= 3, "first fetch, plus at most one refetch for the new kid (single flight)")
    }

    @Test func randomKidsDoNotCauseAFetchStorm() async {
        let endpoint = FakeJWKSEndpoint([Self.es256])
        let verifier = verifier(endpoint, interval: .milliseconds(250))
        let tokens = (0..<400).map { TestIssuer.token(TestIssuer.claims(), key: TestKey.es256(kid: "random-\($0)")) }
        let start = ContinuousClock.now
        let longestWait = await withTaskGroup(of: Duration.self) { group in
            for token in tokens {
                group.addTask {
                    let asked = ContinuousClock.now
                    _ = try? await verifier.verify(token)
                    return ContinuousClock.now - asked
                }
            }
            return await group.reduce(Duration.zero) { max($0, $1) }
        }
        let elapsed = ContinuousClock.now - start
        // The first fetch, then at most one per interval while the flood lasts.
        #expect(endpoint.fetches <= 2 + Int(elapsed / .milliseconds(250)))
        // Each random kid waits for about one permitted fetch; the bound leaves room for a machine
        // busy with the other tests, and is far below a wait per token (400 × 250 ms).
        #expect(longestWait < .seconds(10))
    }

    @Test func aRealRotationIsAcceptedDuringARandomKidFlood() async throws {
        let old = TestKey.es256(kid: "old")
        let new = TestKey.es256(kid: "new")
        let endpoint = FakeJWKSEndpoint([old])
        let verifier = verifier(endpoint, interval: .milliseconds(500))
        _ = try await verifier.verify(TestIssuer.token(TestIssuer.claims(), key: old))
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var i = 0
                        while !Task.isCancelled {
                            i += 1
                            let token = TestIssuer.token(TestIssuer.claims(), key: TestKey.es256(kid: "rogue-\(worker)-\(i)"))
                            _ = try? await verifier.verify(token)
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        endpoint.serve([old, new])
        let start = ContinuousClock.now
        let principal = try await verifier.verify(TestIssuer.token(TestIssuer.claims(), key: new))
        let waited = ContinuousClock.now - start
        flood.cancel()
        await flood.value
        // Accepted, never refused because rogue kids asked first; the wait is about one interval
        // (the bound leaves room for a machine busy with the other tests).
        #expect(principal.subject == "user-1")
        #expect(waited < .seconds(10))
    }

    @Test func withoutKeysRequestsFailAtOnceUntilTheNextPermittedFetch() async {
        let endpoint = FakeJWKSEndpoint([Self.es256])
        endpoint.setUp(false)
        let verifier = verifier(endpoint, interval: .seconds(60))
        let token = TestIssuer.token(TestIssuer.claims(), key: Self.es256)
        for _ in 0..<20 {
            do {
                _ = try await verifier.verify(token)
                Issue.record("verified without keys")
            } catch {
                #expect(error == .providerUnavailable("the token issuer's signing keys cannot be fetched right now"))
            }
        }
        #expect(endpoint.fetches == 1)
    }

    @Test func concurrentFirstUseSharesOneFetch() async throws {
        let endpoint = FakeJWKSEndpoint([Self.es256])
        let verifier = verifier(endpoint)
        let token = TestIssuer.token(TestIssuer.claims(), key: Self.es256)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { _ = try await verifier.verify(token) } }
            try await group.waitForAll()
        }
        #expect(endpoint.fetches == 1)
    }

    @Test func lastGoodKeysSurviveAnOutage() async throws {
        let clock = TestClock()
        let endpoint = FakeJWKSEndpoint([Self.es256])
        let verifier = verifier(endpoint, ttl: .seconds(60), now: { clock.now })
        let token = TestIssuer.token(TestIssuer.claims(), key: Self.es256)
        _ = try await verifier.verify(token)
        endpoint.setUp(false)
        clock.advance(.seconds(120))
        _ = try await verifier.verify(token)  // stale keys, endpoint down: still verifies
        #expect(endpoint.fetches == 2)
    }

    @Test func noKeysAtAllIsProviderUnavailable() async {
        let endpoint = FakeJWKSEndpoint([Self.es256])
        endpoint.setUp(false)
        do {
            _ = try await verifier(endpoint).verify(TestIssuer.token(TestIssuer.claims(), key: Self.es256))
            Issue.record("verified without keys")
        } catch {
            #expect(error == .providerUnavailable("the token issuer's signing keys cannot be fetched right now"))
        }
    }

    @Test func jwksParsingSkipsUnusableKeys() {
        let document: JSONValue = [
            "keys": [
                ["kty": "oct", "kid": "hmac", "k": "c2VjcmV0"],
                ["kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": "AA", "y": "AA"],
                ["kty": "RSA", "kid": "private", "n": "AQAB", "e": "AQAB", "d": "AQAB"],
                ["kty": "weird", "kid": "exotic"],
                .object(Self.es256.jwk),
            ]
        ]
        let keys = try? JWKSCache.parse(try! JSONEncoder().encode(document))
        #expect(keys.map { Array($0.keys) } == ["ec-1"])
    }

    @Test func anUnusableKeySetKeepsTheLastGoodKeys() async throws {
        let clock = TestClock()
        let endpoint = FakeJWKSEndpoint([Self.es256])
        let verifier = verifier(endpoint, ttl: .seconds(60), now: { clock.now })
        let token = TestIssuer.token(TestIssuer.claims(), key: Self.es256)
        _ = try await verifier.verify(token)
        endpoint.serve([])  // the endpoint now answers {"keys":[]}
        clock.advance(.seconds(120))
        _ = try await verifier.verify(token)
        #expect(endpoint.fetches == 2, "the empty set was fetched and refused")
        #expect(throws: (any Error).self) { try JWKSCache.parse(Data("<html>502</html>".utf8)) }
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let offset = Mutex(Duration.zero)
    private let start = ContinuousClock.now
    func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
    var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
}
