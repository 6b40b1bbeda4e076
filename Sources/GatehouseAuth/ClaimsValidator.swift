import Foundation
import GatehouseCore

/// Checks the registered claims of a signed JWT access token and builds its ``Principal``.
///
/// MCP authorization (2025-06-18 §2.5 "Token Handling", 2025-11-25): resource servers MUST
/// validate that access tokens were issued specifically for them as the intended audience
/// (RFC 8707 §2). RFC 9068 §4 and RFC 7519 §4.1: `iss` must match exactly, `aud` must
/// contain this resource, and `exp`/`nbf`/`iat` are checked against the clock.
public struct ClaimsValidator: Sendable {
    let issuer: String
    /// Accepted audiences; the token's `aud` must contain at least one.
    let audiences: [String]
    let leeway: Duration
    let now: @Sendable () -> Date

    func validate(_ claims: [String: JSONValue]) throws(VerificationFailure) -> (Principal, expiresAt: Date) {
        let now = now()
        let leewaySeconds = leeway.inSeconds
        guard let expiry = Self.time(claims["exp"]) else { throw .invalidToken(.noExpiry) }
        guard now.timeIntervalSince1970 < expiry + leewaySeconds else {
            throw .invalidToken(.expired(at: Date(timeIntervalSince1970: expiry), leeway: leewaySeconds))
        }
        if let notBefore = Self.time(claims["nbf"]), now.timeIntervalSince1970 + leewaySeconds < notBefore {
            throw .invalidToken(.notYetValid(until: Date(timeIntervalSince1970: notBefore), leeway: leewaySeconds))
        }
        if let issuedAt = Self.time(claims["iat"]), now.timeIntervalSince1970 + leewaySeconds < issuedAt {
            throw .invalidToken(.issuedInFuture(at: Date(timeIntervalSince1970: issuedAt), leeway: leewaySeconds))
        }
        guard case .string(let tokenIssuer)? = claims["iss"], tokenIssuer == issuer else {
            throw .invalidToken(.issuer(expected: issuer, got: claims["iss"]?.stringValue))
        }
        let tokenAudiences = Self.audiences(claims)
        guard !tokenAudiences.isEmpty else { throw .invalidToken(.noAudience(expected: audiences)) }
        guard tokenAudiences.contains(where: audiences.contains) else {
            throw .invalidToken(.audience(expected: audiences, got: tokenAudiences))
        }
        guard case .string(let subject)? = claims["sub"], !subject.isEmpty else {
            throw .invalidToken(.noSubject)
        }
        let principal = Principal(
            subject: subject, issuer: tokenIssuer, email: claims["email"]?.stringValue,
            clientID: claims["client_id"]?.stringValue ?? claims["azp"]?.stringValue,
            scopes: Self.scopes(claims), organizationID: claims["org_id"]?.stringValue, claims: claims)
        return (principal, Date(timeIntervalSince1970: expiry))
    }

    /// The `aud` claim as a list (a string or an array of strings, RFC 7519 §4.1.3).
    public static func audiences(_ claims: [String: JSONValue]) -> [String] {
        switch claims["aud"] {
        case .string(let audience)?: [audience]
        case .array(let values)?: values.compactMap(\.stringValue)
        default: []
        }
    }

    /// Scopes from `scope` (RFC 9068 §2.2.3, space-separated) or `scp` (array or string).
    public static func scopes(_ claims: [String: JSONValue]) -> Set<String> {
        for key in ["scope", "scp"] {
            switch claims[key] {
            case .string(let text)?: return Set(text.split(separator: " ").map(String.init))
            case .array(let values)?: return Set(values.compactMap(\.stringValue))
            default: continue
            }
        }
        return []
    }

    /// A NumericDate claim (`exp`, `nbf`, `iat`: seconds since the epoch, RFC 7519 §2) in seconds.
    public static func time(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let seconds)?: Double(seconds)
        case .double(let seconds)?: seconds
        default: nil
        }
    }
}
