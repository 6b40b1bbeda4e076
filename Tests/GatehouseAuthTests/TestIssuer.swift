import Crypto
import Foundation
import GatehouseCore
import _CryptoExtras

/// A signing key made in the test, with its public JWK.
struct TestKey: Sendable {
    let kid: String
    let algorithm: String
    let jwk: [String: JSONValue]
    let sign: @Sendable (Data) throws -> Data

    static func es256(kid: String) -> TestKey {
        let key = P256.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        return TestKey(
            kid: kid, algorithm: "ES256",
            jwk: [
                "kty": "EC", "crv": "P-256", "kid": .string(kid), "use": "sig",
                "x": .string(b64(raw.prefix(32))), "y": .string(b64(raw.suffix(32))),
            ],
            sign: { try key.signature(for: $0).rawRepresentation })
    }

    static func es384(kid: String) -> TestKey {
        let key = P384.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        return TestKey(
            kid: kid, algorithm: "ES384",
            jwk: ["kty": "EC", "crv": "P-384", "kid": .string(kid), "x": .string(b64(raw.prefix(48))), "y": .string(b64(raw.suffix(48)))],
            sign: { try key.signature(for: $0).rawRepresentation })
    }

    static func eddsa(kid: String) -> TestKey {
        let key = Curve25519.Signing.PrivateKey()
        return TestKey(
            kid: kid, algorithm: "EdDSA",
            jwk: ["kty": "OKP", "crv": "Ed25519", "kid": .string(kid), "x": .string(b64(key.publicKey.rawRepresentation))],
            sign: { try key.signature(for: $0) })
    }

    /// RSA keys are slow to generate, so the tests share one per padding.
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func rsa(kid: String, algorithm: String = "RS256", includeAlg: Bool = true) -> TestKey {
        let key = rsaKey
        let primitives = try! key.publicKey.getKeyPrimitives()
        var jwk: [String: JSONValue] = [
            "kty": "RSA", "kid": .string(kid), "n": .string(b64(primitives.modulus)), "e": .string(b64(primitives.publicExponent)),
        ]
        if includeAlg { jwk["alg"] = .string(algorithm) }
        let padding: _RSA.Signing.Padding = algorithm.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
        return TestKey(
            kid: kid, algorithm: algorithm, jwk: jwk,
            sign: { data in
                switch algorithm.suffix(3) {
                case "384": try key.signature(for: SHA384.hash(data: data), padding: padding).rawRepresentation
                case "512": try key.signature(for: SHA512.hash(data: data), padding: padding).rawRepresentation
                default: try key.signature(for: SHA256.hash(data: data), padding: padding).rawRepresentation
                }
            })
    }

    /// The RSA public key as PEM: what an attacker would use as an HMAC secret.
    static var rsaPublicKeyPEM: String { rsaKey.publicKey.pemRepresentation }
}

/// Mints tokens the way an authorization server would, and lets tests forge bad ones.
struct TestIssuer: Sendable {
    static let issuer = "https://issuer.test"
    static let audience = "http://127.0.0.1:8884/mcp"

    static func jwks(_ keys: [TestKey]) -> Data {
        try! JSONEncoder().encode(JSONValue.object(["keys": .array(keys.map { .object($0.jwk) })]))
    }

    static func claims(
        subject: String = "user-1", audience: JSONValue = .string(audience), issuer: String = issuer, scope: String = "mcp:read",
        expiresIn: Int = 300, extra: [String: JSONValue] = [:]
    ) -> [String: JSONValue] {
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: JSONValue] = [
            "iss": .string(issuer), "sub": .string(subject), "aud": audience, "iat": .int(now), "exp": .int(now + expiresIn),
            "scope": .string(scope), "client_id": "client-1", "email": "user-1@example.com",
        ]
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    /// A signed compact JWS; `header` entries override the defaults.
    static func token(_ claims: [String: JSONValue], key: TestKey, header: [String: JSONValue] = [:]) -> String {
        var fields: [String: JSONValue] = ["alg": .string(key.algorithm), "kid": .string(key.kid), "typ": "at+jwt"]
        for (name, value) in header { fields[name] = value }
        let signingInput = segment(.object(fields)) + "." + segment(.object(claims))
        return signingInput + "." + b64(try! key.sign(Data(signingInput.utf8)))
    }

    /// A token with `alg` and an HMAC-SHA256 signature keyed by `secret`.
    static func hmacToken(_ claims: [String: JSONValue], secret: Data, kid: String) -> String {
        let signingInput = segment(["alg": "HS256", "kid": .string(kid)]) + "." + segment(.object(claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return signingInput + "." + b64(Data(mac))
    }

    static func segment(_ value: JSONValue) -> String { b64(try! JSONEncoder().encode(value)) }
}

func b64(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
