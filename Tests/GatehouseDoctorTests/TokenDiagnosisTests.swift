import Foundation
import GatehouseAuth
import GatehouseCore
import Testing

@testable import GatehouseDoctor

@Suite struct TokenDiagnosisTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A JWT with these claims and a signature of no value (the verdict is given, not computed).
    func token(_ claims: [String: JSONValue], kid: String = "key-1") -> String {
        func part(_ value: JSONValue) -> String {
            var writer = JSONWriter()
            writer.value(value)
            return Base64URL.encode(writer.bytes)
        }
        return part(["alg": "ES256", "kid": .string(kid), "typ": "at+jwt"]) + "." + part(.object(claims)) + ".c2lnbmF0dXJl"
    }

    func diagnose(_ token: String, _ verdict: Result<Principal, VerificationFailure>, required: [String] = []) -> TokenDiagnosis {
        TokenDiagnosis(token: token, verdict: verdict, requiredScopes: required, now: Self.now)
    }

    @Test func theSummaryShowsTheClaimsButNeverTheToken() {
        let jwt = token(["iss": "https://login.example", "sub": "alice", "aud": "https://mcp.example/mcp", "exp": 1_800_000_600, "scope": "b a"])
        let diagnosis = diagnose(jwt, .success(Principal(subject: "alice", scopes: ["a", "b"])))
        let summary = Dictionary(uniqueKeysWithValues: diagnosis.summary)
        #expect(summary["iss"] == "https://login.example")
        #expect(summary["aud"] == "https://mcp.example/mcp")
        #expect(summary["scopes"] == "a b")
        #expect(summary["exp"]?.contains("in 10 min") == true)
        let everything = diagnosis.summary.map { $0.0 + $0.1 }.joined() + diagnosis.findings.map { $0.message + $0.fix }.joined()
        #expect(!everything.contains("c2lnbmF0dXJl"))
        #expect(!everything.contains(jwt))
        #expect(diagnosis.findings.map(\.id) == ["token.accepted"])
    }

    @Test func eachRefusalHasItsIdAndFix() {
        let jwt = token(["iss": "https://other.example", "sub": "alice", "aud": "client_123", "client_id": "client_123", "exp": 1_799_999_000])
        let cases: [(TokenRefusal, String, String)] = [
            (.expired(at: Date(timeIntervalSince1970: 1_799_999_000), leeway: 60), "token.expired", "16 min ago"),
            (.notYetValid(until: Self.now.addingTimeInterval(3600), leeway: 60), "token.not_yet_valid", "in 60 min"),
            (.issuer(expected: "https://login.example", got: "https://other.example"), "token.issuer", "trusts https://login.example"),
            (.audience(expected: ["https://mcp.example/mcp"], got: ["client_123"]), "token.audience_is_client", "resource indicator"),
            (.audience(expected: ["https://mcp.example/mcp"], got: ["https://elsewhere.example/mcp"]), "token.audience", "HUB_BASE_URL"),
            (.unknownKey(kid: "key-1"), "token.unknown_kid", "kid key-1"),
            (.algorithmNotAccepted("HS256"), "token.algorithm", "MCP_JWT_ALGORITHMS"),
            (.badSignature, "token.signature", "altered"),
            (.noAudience(expected: ["https://mcp.example/mcp"]), "token.no_audience", "resource=https://mcp.example/mcp"),
        ]
        for (refusal, id, mention) in cases {
            let finding = diagnose(jwt, .failure(.invalidToken(refusal))).findings[0]
            #expect(finding.id == id)
            #expect(finding.severity == .error)
            #expect((finding.message + " " + finding.fix).contains(mention), "\(id): \(finding)")
        }
    }

    @Test func anAcceptedTokenWithoutTheRequiredScopesIsAnError() {
        let diagnosis = diagnose(token(["sub": "alice"]), .success(Principal(subject: "alice", scopes: ["mcp:read"])), required: ["mcp:read", "mcp:write"])
        #expect(diagnosis.findings.map(\.id) == ["token.scopes_missing", "token.accepted"])
        #expect(diagnosis.findings[0].message.contains("lacks mcp:write"))
    }

    @Test func opaqueTokensAndOutagesAreNamed() {
        let opaque = diagnose("an-opaque-token", .failure(.invalidToken(.inactive)))
        #expect(opaque.summary.first?.0 == "format")
        #expect(opaque.findings.map(\.id) == ["token.inactive"])
        let down = diagnose("an-opaque-token", .failure(.providerUnavailable("the introspection endpoint cannot be reached")))
        #expect(down.findings.map(\.id) == ["provider.unavailable"])
    }
}
