import Crypto
import Foundation
import GatehouseCore

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
struct PKCEPair: Sendable {
    let verifier: String
    let challenge: String

    init() {
        var generator = SystemRandomNumberGenerator()
        // 48 random bytes: 64 base64url characters, inside the 43…128 the RFC allows.
        verifier = Base64URL.encode((0..<48).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        challenge = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    }

    /// A random `state` value (RFC 6749 §10.12).
    static func state() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}
