// Token verification cost: RS256 and ES256 JWTs through the same JWTVerifier the hub uses,
// cold (every token new, so the signature is checked each time) and cached (the same token
// again, answered by CachingVerifier). Keys are made here and served from memory, so no
// network is involved.
import Crypto
import Foundation
import GatehouseAuth
import GatehouseCore
import Logging
import _CryptoExtras

/// A signing key and its public JWK.
struct BenchKey: Sendable {
    let algorithm: String
    let jwk: JSONValue
    let sign: @Sendable (Data) throws -> Data

    static func rs256() throws -> BenchKey {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try key.publicKey.getKeyPrimitives()
        return BenchKey(
            algorithm: "RS256",
            jwk: ["kty": "RSA", "kid": "bench", "alg": "RS256", "n": .string(base64URL(primitives.modulus)),
                  "e": .string(base64URL(primitives.publicExponent))],
            sign: { try key.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation })
    }

    static func es256() -> BenchKey {
        let key = P256.Signing.PrivateKey()
        let raw = key.publicKey.rawRepresentation
        return BenchKey(
            algorithm: "ES256",
            jwk: ["kty": "EC", "crv": "P-256", "kid": "bench", "x": .string(base64URL(raw.prefix(32))),
                  "y": .string(base64URL(raw.suffix(32)))],
            sign: { try key.signature(for: $0).rawRepresentation })
    }

    func token(subject: String) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header: JSONValue = ["alg": .string(algorithm), "kid": "bench", "typ": "at+jwt"]
        let claims: JSONValue = [
            "iss": "https://issuer.bench", "aud": "http://127.0.0.1:8884/mcp", "sub": .string(subject),
            "iat": .int(now), "exp": .int(now + 3600), "scope": "mcp:read",
        ]
        let input = base64URL(try JSONEncoder().encode(header)) + "." + base64URL(try JSONEncoder().encode(claims))
        return input + "." + base64URL(try sign(Data(input.utf8)))
    }
}

func base64URL(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Nanoseconds per verification for `key`: cold (distinct tokens) and cached (one token).
nonisolated func measureVerification(_ key: BenchKey, iterations: Int) async throws -> (cold: Double, cached: Double) {
    let jwks = try JSONEncoder().encode(JSONValue.object(["keys": [key.jwk]]))
    let keys = JWKSCache(logger: Logger(label: "bench")) { jwks }
    let verifier = JWTVerifier(issuer: "https://issuer.bench", audiences: ["http://127.0.0.1:8884/mcp"], keys: keys)
    // Signing is not what is measured: mint the cold tokens first.
    let tokens = try (0..<iterations).map { try key.token(subject: "user-\($0)") }
    let cold = try await measure(iterations) { i in _ = try await verifier.verify(tokens[i]) }
    let cached = CachingVerifier(verifier)
    let cachedNs = try await measure(iterations) { _ in _ = try await cached.verify(tokens[0]) }
    return (cold, cachedNs)
}
