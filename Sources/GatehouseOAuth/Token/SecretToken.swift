import Crypto
import Foundation
import GatehouseCore

/// Random credentials (codes, refresh tokens, client secrets, ids) and the hashes the store
/// keeps instead of them.
public enum SecretToken {
    /// 256 random bits from the system CSPRNG, base64url, with an optional readable prefix.
    public static func generate(prefix: String = "") -> String {
        prefix + Base64URL.random(byteCount: 32)
    }

    /// The SHA-256 of `secret`, hex: what the store keeps. A stolen database holds no usable
    /// credential, and lookups by hash need no constant-time comparison.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
