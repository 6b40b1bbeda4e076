import HTTPTypes

/// What a request presents as credentials.
public enum BearerCredentials: Sendable, Equatable {
    /// No `Authorization` header.
    case none
    /// `Authorization: Bearer <token>`.
    case token(String)
    /// Credentials that cannot be used; the reason becomes an `invalid_request` challenge.
    case malformed(String)

    /// Longest token accepted; longer headers are refused before any verification work.
    static let maxTokenBytes = 16 * 1024

    /// Reads the bearer token from the `Authorization` header only.
    ///
    /// MCP authorization (2025-06-18 §2.6 "Access Token Usage"): clients MUST send the token
    /// in the Authorization header (RFC 6750 §2.1) and access tokens MUST NOT be in the URI
    /// query string; a token found there is refused, not used.
    ///
    /// The header is read as UTF-8 bytes: this runs on every request, and iterating an
    /// 800-character JWT as Swift `Character`s costs about 70 µs (see `bench/`).
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
        var header = value
        self = header.withUTF8(Self.parse)
    }

    /// Parses `Bearer <token>` from the header's UTF-8 bytes in one pass.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> BearerCredentials {
        let wrongScheme = BearerCredentials.malformed("the Authorization header must be \"Bearer <access token>\"")
        let scheme = "bearer".utf8
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
            zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 })
        else { return wrongScheme }
        var start = scheme.count
        var end = bytes.count
        while start < end, bytes[start] == UInt8(ascii: " ") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        guard start < end else { return wrongScheme }
        let token = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard token.count <= maxTokenBytes, token.allSatisfy(isToken68) else {
            return .malformed("the bearer token contains characters RFC 6750 does not allow")
        }
        return .token(String(decoding: token, as: UTF8.self))
    }

    /// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    private static func isToken68(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"),
            UInt8(ascii: "="):
            true
        default: false
        }
    }
}
