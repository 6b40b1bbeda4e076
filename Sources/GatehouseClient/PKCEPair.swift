import Crypto
import Foundation
import GatehouseCore

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
struct PKCEPair: Sendable {
    let verifier: String
    let challenge: String

    init() {
        // 48 random bytes: 64 base64url characters, inside the 43…128 the RFC allows.
        verifier = Base64URL.random(byteCount: 48)
        challenge = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    }

    /// A random `state` value (RFC 6749 §10.12).
    static func state() -> String {
        Base64URL.random(byteCount: 24)
    }
}
