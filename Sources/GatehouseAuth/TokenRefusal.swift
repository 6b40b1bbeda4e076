import Foundation

/// Why a token is refused, as a value: the server's `error_description` and `gatehouse doctor
/// token` are both derived from it, so they always agree. The description is safe to send to the
/// client (it names claims and expectations, never the token).
public enum TokenRefusal: Sendable, Equatable, CustomStringConvertible {
    /// Not a signed JWT, or one whose parts do not decode (the detail says which).
    case malformed(String)
    /// The JWT header's `alg` is not one this server accepts.
    case algorithmNotAccepted(String)
    /// The header's `alg` does not fit the key it names.
    case algorithmMismatch(String)
    /// No published key has the header's `kid` (or, without a `kid`, none fits).
    case unknownKey(kid: String?)
    /// The issuer's key exists but cannot verify this algorithm.
    case unusableKey(algorithm: String)
    case badSignature
    case noExpiry
    /// `exp` has passed, even allowing `leeway` seconds of clock skew.
    case expired(at: Date, leeway: TimeInterval)
    /// `nbf` is still ahead, beyond the leeway.
    case notYetValid(until: Date, leeway: TimeInterval)
    /// `iat` is ahead, beyond the leeway: a clock is wrong.
    case issuedInFuture(at: Date, leeway: TimeInterval)
    /// `iss` is not the configured issuer (RFC 9068 §4: exact match).
    case issuer(expected: String, got: String?)
    case noAudience(expected: [String])
    /// None of `aud` is this resource (RFC 8707, MCP "Token Audience Binding").
    case audience(expected: [String], got: [String])
    case noSubject
    /// Introspection (RFC 7662) says the token is not active.
    case inactive
    /// A token this server cannot recognise at all (unknown static token, userinfo refused it).
    case unrecognized(String)

    public var description: String {
        switch self {
        case .malformed(let detail): detail
        case .algorithmNotAccepted(let algorithm): "the token's algorithm \(algorithm.prefix(16)) is not accepted"
        case .algorithmMismatch(let algorithm): "the token's alg \(algorithm.prefix(16)) does not match its signing key"
        case .unknownKey: "the token was signed with a key the issuer does not publish (unknown kid)"
        case .unusableKey(let algorithm): "the issuer's signing key cannot verify \(algorithm.prefix(16)) tokens"
        case .badSignature: "the token's signature does not verify"
        case .noExpiry: "the token has no exp claim"
        case .expired: "the token has expired"
        case .notYetValid: "the token is not valid yet (nbf)"
        case .issuedInFuture: "the token was issued in the future (iat)"
        case .issuer: "the token was issued by another issuer (iss)"
        case .noAudience: "the token has no audience (aud); it must name this server"
        case .audience(let expected, _): "the token is for another audience (aud); request one for \(expected.first ?? "this server")"
        case .noSubject: "the token has no subject (sub)"
        case .inactive: "the token is not active"
        case .unrecognized(let detail): detail
        }
    }

    /// A short, stable name of the reason, for metrics labels and the audit log (one of a
    /// dozen; never the token's own values).
    public var code: String {
        switch self {
        case .malformed: "malformed"
        case .algorithmNotAccepted, .algorithmMismatch: "algorithm"
        case .unknownKey: "unknown_key"
        case .unusableKey: "unusable_key"
        case .badSignature: "bad_signature"
        case .noExpiry: "no_expiry"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .issuedInFuture: "issued_in_future"
        case .issuer: "issuer"
        case .noAudience, .audience: "audience"
        case .noSubject: "no_subject"
        case .inactive: "inactive"
        case .unrecognized: "unrecognized"
        }
    }
}
