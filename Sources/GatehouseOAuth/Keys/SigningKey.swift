import Crypto
import Foundation
import GatehouseCore

/// An ES256 key that signs the access tokens the embedded authorization server issues.
///
/// The key id is the RFC 7638 JWK thumbprint, so it is stable for a key and unique across
/// keys; resource servers find the key by it in the published JWKS.
public struct SigningKey: Sendable {
    private let key: P256.Signing.PrivateKey
    /// The RFC 7638 thumbprint of the public key, base64url.
    public let keyID: String

    /// A new random key.
    public init() { self.init(key: P256.Signing.PrivateKey()) }

    /// The key stored as `rawRepresentation` (32 bytes), as persisted by the store.
    public init(rawRepresentation: Data) throws {
        self.init(key: try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation))
    }

    private init(key: P256.Signing.PrivateKey) {
        self.key = key
        let (x, y) = Self.coordinates(key.publicKey)
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
        keyID = Base64URL.encode(SHA256.hash(data: Data(canonical.utf8)))
    }

    /// The private key's 32 bytes, for the store (which encrypts it at rest).
    public var rawRepresentation: Data { key.rawRepresentation }

    /// The public JWK, as published in the JWKS.
    public var publicJWK: JSONValue {
        let (x, y) = Self.coordinates(key.publicKey)
        return ["kty": "EC", "crv": "P-256", "x": .string(x), "y": .string(y), "kid": .string(keyID), "alg": "ES256", "use": "sig"]
    }

    /// A compact JWS of `claims` with header `{"alg":"ES256","kid":…,"typ":"at+jwt"}` (RFC 9068 §2.1).
    public func sign(claims: JSONValue) throws -> String {
        var header = JSONWriter()
        header.value(["alg": "ES256", "kid": .string(keyID), "typ": "at+jwt"])
        var payload = JSONWriter()
        payload.value(claims)
        let input = Base64URL.encode(header.bytes) + "." + Base64URL.encode(payload.bytes)
        let signature = try key.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + Base64URL.encode(signature)
    }

    private static func coordinates(_ publicKey: P256.Signing.PublicKey) -> (String, String) {
        let raw = publicKey.rawRepresentation
        return (Base64URL.encode(raw.prefix(32)), Base64URL.encode(raw.suffix(32)))
    }
}
