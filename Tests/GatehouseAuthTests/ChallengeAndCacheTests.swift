import Foundation
import GatehouseAuth
import GatehouseCore
import HTTPTypes
import Synchronization
import Testing

@Suite("Bearer challenges and credentials")
struct BearerChallengeTests {
    @Test func challengeWithoutTokenHasNoError() {
        let challenge = BearerChallenge(resourceMetadataURL: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scopes: ["a", "b"])
        #expect(challenge.headerValue == #"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="a b""#)
    }

    @Test func descriptionsCannotBreakOutOfTheirQuotes() {
        let challenge = BearerChallenge(
            resourceMetadataURL: "https://x/m", scopes: [], error: .invalidToken, errorDescription: "bad \"quote\" \\ and é\n")
        #expect(challenge.headerValue == #"Bearer error="invalid_token", error_description="bad  quote    and   ", resource_metadata="https://x/m""#)
    }

    @Test func credentialsComeOnlyFromTheAuthorizationHeader() {
        #expect(BearerCredentials(headers: [.authorization: "Bearer abc.def-ghi_~+/="], query: nil) == .token("abc.def-ghi_~+/="))
        #expect(BearerCredentials(headers: [.authorization: "bearer abc"], query: "x=1") == .token("abc"))
        #expect(BearerCredentials(headers: [:], query: nil) == .none)
        guard case .malformed = BearerCredentials(headers: [.authorization: "Bearer abc"], query: "a=1&access_token=abc") else {
            Issue.record("a query-string token was accepted")
            return
        }
        var two: HTTPFields = [:]
        two.append(HTTPField(name: .authorization, value: "Bearer a"))
        two.append(HTTPField(name: .authorization, value: "Bearer b"))
        guard case .malformed = BearerCredentials(headers: two, query: nil) else {
            Issue.record("two Authorization headers were accepted")
            return
        }
    }
}

/// A verifier that counts calls and answers from a table.
final class CountingVerifier: TokenVerifier {
    private let calls = Mutex(0)
    let answers: [String: Principal]
    init(_ answers: [String: Principal]) { self.answers = answers }
    var count: Int { calls.withLock { $0 } }

    func verify(_ token: String) async throws(VerificationFailure) -> Principal {
        calls.withLock { $0 += 1 }
        guard let principal = answers[token] else { throw .providerUnavailable("down") }
        return principal
    }
}

@Suite("Verification cache")
struct CachingVerifierTests {
    final class Clock: Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 += seconds } }
    }

    @Test func repeatedTokensAreVerifiedOnceUntilTheyExpire() async throws {
        let clock = Clock()
        var principal = Principal(subject: "alice")
        principal.claims["exp"] = .int(1_000_000 + 30)
        let inner = CountingVerifier(["t": principal])
        let cache = CachingVerifier(inner, maxAge: .seconds(300), now: { clock.now })
        for _ in 0..<5 { _ = try await cache.verify("t") }
        #expect(inner.count == 1)
        clock.advance(31)  // past the token's own exp, well before maxAge
        _ = try await cache.verify("t")
        #expect(inner.count == 2)
    }

    @Test func entriesLiveAtMostMaxAge() async throws {
        let clock = Clock()
        let inner = CountingVerifier(["t": Principal(subject: "alice")])
        let cache = CachingVerifier(inner, maxAge: .seconds(60), now: { clock.now })
        _ = try await cache.verify("t")
        clock.advance(61)
        _ = try await cache.verify("t")
        #expect(inner.count == 2)
    }

    @Test func aMaxAgeWithFractionsIsKeptNotTruncated() async throws {
        let clock = Clock()
        let inner = CountingVerifier(["t": Principal(subject: "alice")])
        let cache = CachingVerifier(inner, maxAge: .milliseconds(1500), now: { clock.now })
        _ = try await cache.verify("t")
        clock.advance(1.2)  // past a truncated 1 s, within the 1.5 s asked for
        _ = try await cache.verify("t")
        #expect(inner.count == 1)
        clock.advance(0.4)
        _ = try await cache.verify("t")
        #expect(inner.count == 2)
    }

    @Test func failuresAreNotCached() async {
        let inner = CountingVerifier([:])
        let cache = CachingVerifier(inner)
        for _ in 0..<3 { _ = try? await cache.verify("t") }
        #expect(inner.count == 3)
        #expect(cache.count == 0)
    }

    @Test func theCacheIsBounded() async throws {
        var answers: [String: Principal] = [:]
        for i in 0..<100 { answers["t\(i)"] = Principal(subject: "u\(i)") }
        let cache = CachingVerifier(CountingVerifier(answers), capacity: 10)
        for i in 0..<100 { _ = try await cache.verify("t\(i)") }
        #expect(cache.count <= 10)
    }
}

@Suite("Token shape")
struct TokenShapeTests {
    @Test func jwtShapedTokensAreRecognised() {
        let jwt = TestIssuer.token(TestIssuer.claims(), key: JWTVerifierTests.es256)
        #expect(JWTOrOpaqueVerifier.looksLikeJWT(jwt))
        for opaque in ["opaque-token", "a.b.c", "eyJ.e30.", "eyJhbGciOi.e30", "eyJhbGciOi..sig", "eyJ+bGci.e30.c2ln", ""] {
            #expect(!JWTOrOpaqueVerifier.looksLikeJWT(opaque), "\(opaque)")
        }
    }
}
