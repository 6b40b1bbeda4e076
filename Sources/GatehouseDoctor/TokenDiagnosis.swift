import Foundation
import GatehouseAuth
import GatehouseCore

/// Explains why a server would accept or refuse one access token, from the server's own verdict
/// (the structured ``TokenRefusal`` its verifier gives) and the token's decoded claims. It never
/// repeats the token or its signature.
public struct TokenDiagnosis: Sendable {
    /// The decoded header and claims, when the token is a JWT; `nil` for an opaque token.
    public let parts: JWTParts?
    /// What the server's verifier said.
    public let verdict: Result<Principal, VerificationFailure>
    /// Scopes every request needs (`MCP_REQUIRED_SCOPES`).
    public let requiredScopes: [String]
    public let now: Date

    public init(token: String, verdict: Result<Principal, VerificationFailure>, requiredScopes: [String], now: Date = Date()) {
        self.parts = JWTParts.looksLikeJWT(token) ? try? JWTParts(token) : nil
        self.verdict = verdict
        self.requiredScopes = requiredScopes
        self.now = now
    }

    /// What the token says, one line per field (`alg`, `kid`, `iss`, `sub`, `aud`, times, scopes).
    public var summary: [(String, String)] {
        guard let parts else { return [("format", "opaque (not a JWT): only its provider can read it")] }
        var lines: [(String, String)] = [("alg", parts.algorithm), ("kid", parts.keyID ?? "(none)")]
        let claims = parts.claims
        for name in ["iss", "sub", "client_id", "azp"] {
            if let value = claims[name]?.stringValue { lines.append((name, value)) }
        }
        let audiences = ClaimsValidator.audiences(claims)
        lines.append(("aud", audiences.isEmpty ? "(none)" : audiences.joined(separator: ", ")))
        for name in ["exp", "nbf", "iat"] {
            if let seconds = ClaimsValidator.time(claims[name]) { lines.append((name, describe(Date(timeIntervalSince1970: seconds)))) }
        }
        let scopes = ClaimsValidator.scopes(claims)
        lines.append(("scopes", scopes.isEmpty ? "(none)" : scopes.sorted().joined(separator: " ")))
        return lines
    }

    /// The findings, worst first.
    public var findings: [Finding] {
        var findings: [Finding]
        switch verdict {
        case .success(let principal):
            findings = [Finding("token.accepted", .info, "the server accepts this token for \(principal.subject)")]
            let missing = Set(requiredScopes).subtracting(principal.scopes).sorted()
            if !missing.isEmpty {
                findings.append(
                    Finding(
                        "token.scopes_missing", .error,
                        "every request needs the scopes \(requiredScopes.joined(separator: " ")); the token lacks \(missing.joined(separator: " "))",
                        fix: "sign in again asking for the missing scopes, or grant them to the client at the provider"))
            }
        case .failure(.providerUnavailable(let reason)):
            findings = [
                Finding(
                    "provider.unavailable", .error, "the token could not be checked: \(reason)",
                    fix: "check that the provider is reachable from this machine (the issuer URL, JWKS or introspection endpoint)")
            ]
        case .failure(.invalidToken(let refusal)):
            findings = [explain(refusal)]
        }
        return findings.sorted { $0.severity > $1.severity }
    }

    /// The finding for one refusal, with its specifics and the fix.
    func explain(_ refusal: TokenRefusal) -> Finding {
        switch refusal {
        case .malformed(let detail):
            return Finding("token.malformed", .error, detail, fix: "pass the access token itself (not an ID token, not a refresh token, not the whole header)")
        case .algorithmNotAccepted(let algorithm):
            return Finding(
                "token.algorithm", .error, "the token is signed with \(algorithm), which this server does not accept",
                fix: "add it to MCP_JWT_ALGORITHMS if the provider really signs with it")
        case .algorithmMismatch(let algorithm):
            return Finding("token.algorithm", .error, "the header says \(algorithm) but the key it names is of another type", fix: "the token was forged or altered; get a new one")
        case .unknownKey(let kid):
            return Finding(
                "token.unknown_kid", .error,
                "no key the issuer publishes has kid \(kid ?? "(none)")",
                fix: "the token comes from another issuer or environment (staging vs production), or the provider rotated keys and the old one is gone; check iss and get a new token")
        case .unusableKey(let algorithm):
            return Finding("token.unusable_key", .error, "the issuer's key cannot verify \(algorithm)", fix: "the provider's JWKS is inconsistent; report it to the provider")
        case .badSignature:
            return Finding("token.signature", .error, "the signature does not verify with the issuer's key", fix: "the token was altered or signed by someone else; get a new one")
        case .noExpiry:
            return Finding("token.no_exp", .error, "the token has no exp claim", fix: "configure the provider to issue expiring access tokens")
        case .expired(let at, let leeway):
            return Finding(
                "token.expired", .error,
                "the token expired \(describe(at)) (allowing \(Int(leeway)) s of clock skew)",
                fix: "refresh it or sign in again; if it was just issued, compare this machine's clock with the provider's")
        case .notYetValid(let until, let leeway):
            return Finding(
                "token.not_yet_valid", .error, "the token is valid only from \(describe(until)) (allowing \(Int(leeway)) s of skew)",
                fix: "a clock is wrong: check this machine's time (timedatectl) against the provider's")
        case .issuedInFuture(let at, let leeway):
            return Finding(
                "token.issued_in_future", .error, "the token says it was issued \(describe(at)) (allowing \(Int(leeway)) s of skew)",
                fix: "a clock is wrong: check this machine's time (timedatectl) against the provider's")
        case .issuer(let expected, let got):
            return Finding(
                "token.issuer", .error, "the token was issued by \(got ?? "(no iss)"), but this server trusts \(expected)",
                fix: "use a token from \(expected), or point the server at the right issuer (WORKOS_AUTHKIT_DOMAIN or MCP_JWT_ISSUER); the match is exact, trailing slash included")
        case .noAudience(let expected):
            return Finding(
                "token.no_audience", .error, "the token names no audience; it must name \(expected.first ?? "this server")",
                fix: "the client must send resource=\(expected.first ?? "the MCP endpoint URL") when it asks for the token (RFC 8707)")
        case .audience(let expected, let got):
            return audienceFinding(expected: expected, got: got)
        case .noSubject:
            return Finding("token.no_subject", .error, "the token names no subject (sub)", fix: "configure the provider to put the user in sub")
        case .inactive:
            return Finding("token.inactive", .error, "the provider says the token is not active (revoked or expired)", fix: "refresh it or sign in again")
        case .unrecognized(let detail):
            return Finding("token.unrecognized", .error, detail, fix: "this token is not one this server's provider issued; check which provider the server is configured for")
        }
    }

    /// `aud` is not this resource. When it is the client's own id, the provider did not know the
    /// resource: AuthKit issues such tokens when the resource indicator is not registered.
    private func audienceFinding(expected: [String], got: [String]) -> Finding {
        let want = expected.first ?? "this server's URL"
        let client = parts.flatMap { $0.claims["client_id"]?.stringValue ?? $0.claims["azp"]?.stringValue }
        if let client, got.contains(client) {
            return Finding(
                "token.audience_is_client", .error,
                "the token's audience is the client's own id (\(client)), not \(want): the provider ignored the resource",
                fix: "register \(want) as a resource indicator at the provider (AuthKit: the dashboard's resource settings) and make sure the client sends resource=\(want)")
        }
        return Finding(
            "token.audience", .error, "the token is for \(got.joined(separator: ", ")), not for \(want)",
            fix: "ask for a token with resource=\(want); if clients reach the server at another URL (a proxy, another port), set HUB_BASE_URL so the server knows its public URL")
    }

    private func describe(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince(now).rounded())
        let relative = seconds >= 0 ? "in \(Self.span(seconds))" : "\(Self.span(-seconds)) ago"
        return ISO8601DateFormatter().string(from: date) + " (" + relative + ")"
    }

    private static func span(_ seconds: Int) -> String {
        switch seconds {
        case ..<120: "\(seconds) s"
        case ..<7200: "\(seconds / 60) min"
        case ..<172_800: "\(seconds / 3600) h"
        default: "\(seconds / 86400) days"
        }
    }
}
