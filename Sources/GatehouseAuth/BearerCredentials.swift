import Foundation
import HTTPTypes

/// What a request presents as credentials.
public enum BearerCredentials: Sendable, Equatable {
    /// No `Authorization` header.
    case none
    /// `Authorization: Bearer <token>`.
    case token(String)
    /// Credentials that cannot be used; the reason becomes an `invalid_request` challenge.
    case malformed(String)

    /// Reads the bearer token from the `Authorization` header only.
    ///
    /// MCP authorization (2025-06-18 §2.6 "Access Token Usage"): clients MUST send the token
    /// in the Authorization header (RFC 6750 §2.1) and access tokens MUST NOT be in the URI
    /// query string; a token found there is refused, not used.
    public init(headers: HTTPFields, query: String?) {
        if let query, query.split(separator: "&").contains(where: { $0.hasPrefix("access_token=") }) {
            self = .malformed("access tokens are accepted only in the Authorization header, never in the query string")
            return
        }
        let values = headers[values: .authorization]
        guard let value = values.first else {
            self = .none
            return
        }
        guard values.count == 1 else {
            self = .malformed("send exactly one Authorization header")
            return
        }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            self = .malformed("the Authorization header must be \"Bearer <access token>\"")
            return
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        guard !token.isEmpty, token.utf8.count <= 16 * 1024,
            token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._~+/=".contains($0)) })
        else {
            self = .malformed("the bearer token contains characters RFC 6750 does not allow")
            return
        }
        self = .token(token)
    }
}
