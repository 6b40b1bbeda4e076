import Crypto
import Foundation
import GatehouseCore

/// Proof Key for Code Exchange (RFC 7636), S256 only.
///
/// OAuth 2.1 (draft, §4.1.1) and MCP authorization (2025-06-18 §2.7 "Authorization Code
/// Protection"): clients MUST use PKCE and S256 where they can; Gatehouse accepts nothing
/// else, so a `plain` challenge cannot be downgraded to.
public enum PKCE {
    /// Checks a `code_challenge` and its method from an authorization request.
    public static func validateChallenge(_ challenge: String?, method: String?) throws(OAuthError) -> String {
        guard let challenge, !challenge.isEmpty else {
            throw OAuthError(.invalidRequest, "code_challenge is required (PKCE with S256)")
        }
        guard method == "S256" else {
            throw OAuthError(.invalidRequest, "code_challenge_method must be S256")
        }
        // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters without padding.
        guard challenge.utf8.count == 43, challenge.utf8.allSatisfy(Base64URL.isAlphabetCharacter) else {
            throw OAuthError(.invalidRequest, "code_challenge must be the unpadded base64url SHA-256 of the verifier (43 characters)")
        }
        return challenge
    }

    /// True when `verifier` hashes to `challenge` (RFC 7636 §4.6).
    public static func verify(_ verifier: String, against challenge: String) -> Bool {
        // RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
        guard (43...128).contains(verifier.utf8.count), verifier.utf8.allSatisfy(isUnreserved) else { return false }
        let computed = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
        return constantTimeEqual(Array(computed.utf8), Array(challenge.utf8))
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        Base64URL.isAlphabetCharacter(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
    }

    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
