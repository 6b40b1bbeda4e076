import Foundation
import GatehouseCore

/// The decoded header and claims of a compact JWS (RFC 7515 §7.1), before any signature check.
public struct JWTParts: Sendable {
    /// `alg` from the protected header.
    public let algorithm: String
    /// `kid` from the protected header, if any.
    public let keyID: String?
    /// Every claim of the payload.
    public let claims: [String: JSONValue]

    /// True when `token` has the shape of a compact JWS: three base64url segments, the first
    /// a JSON object (`eyJ`). It runs on every AuthKit request, so it reads UTF-8 bytes.
    public static func looksLikeJWT(_ token: String) -> Bool {
        var segments = 1
        var segmentLength = 0
        for byte in token.utf8 {
            if byte == UInt8(ascii: ".") {
                guard segmentLength > 0 else { return false }
                segments += 1
                segmentLength = 0
            } else if Base64URL.isAlphabetCharacter(byte) {
                segmentLength += 1
            } else {
                return false
            }
        }
        return segments == 3 && segmentLength > 0 && token.utf8.starts(with: "eyJ".utf8)
    }

    /// Decodes `token`; a token that is not a well-formed JWS is refused as ``TokenRefusal/malformed(_:)``.
    public init(_ token: String) throws(VerificationFailure) {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, !segments[2].isEmpty else {
            throw .invalidToken(.malformed("the token is not a signed JWT (expected three dot-separated parts)"))
        }
        guard case .object(let header)? = Self.decodeJSON(segments[0]) else {
            throw .invalidToken(.malformed("the JWT header is not base64url-encoded JSON"))
        }
        guard case .object(let claims)? = Self.decodeJSON(segments[1]) else {
            throw .invalidToken(.malformed("the JWT payload is not base64url-encoded JSON"))
        }
        guard case .string(let algorithm)? = header["alg"] else {
            throw .invalidToken(.malformed("the JWT header has no alg"))
        }
        // RFC 7515 §4.1.11: a recipient MUST reject a token with a `crit` extension it does not understand.
        guard header["crit"] == nil else {
            throw .invalidToken(.malformed("the JWT header lists critical extensions this server does not support"))
        }
        switch header["kid"] {
        case nil, .null?: keyID = nil
        case .string(let kid)?: keyID = kid
        default: throw .invalidToken(.malformed("the JWT header's kid is not a string"))
        }
        self.algorithm = algorithm
        self.claims = claims
    }

    private static func decodeJSON(_ segment: Substring) -> JSONValue? {
        guard let data = Base64URL.decode(segment) else { return nil }
        return try? JSONValue.parse(data)
    }

}
