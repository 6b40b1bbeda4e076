import Crypto
import CryptoExtras
import Foundation
import GatehouseCore

/// Password hashing for the local user directory: scrypt (RFC 7914) with a random salt.
///
/// The stored form is `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later
/// and old hashes still verify.
public enum PasswordHasher {
    /// Cost parameters: N = 2^15, r = 8, p = 1 (32 MiB, about 50 ms on one core).
    static let rounds = 1 << 15
    static let blockSize = 8
    static let parallelism = 1

    /// A hash of `password` to store.
    public static func hash(_ password: String) throws -> String {
        let salt = Base64URL.randomBytes(16)
        let derived = try derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        return ["scrypt", "\(rounds)", "\(blockSize)", "\(parallelism)", Base64URL.encode(salt), Base64URL.encode(derived)]
            .joined(separator: "$")
    }

    /// True when `password` matches `stored`; false for a malformed `stored` value.
    public static func verify(_ password: String, against stored: String) -> Bool {
        let fields = stored.split(separator: "$").map(String.init)
        guard fields.count == 6, fields[0] == "scrypt", let rounds = Int(fields[1]), let blockSize = Int(fields[2]),
            let parallelism = Int(fields[3]), let salt = Base64URL.decode(fields[4]), let expected = Base64URL.decode(fields[5]),
            rounds <= 1 << 20, blockSize <= 16, parallelism <= 4,
            let derived = try? derive(password, salt: Array(salt), rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        else { return false }
        return derived.count == expected.count && zip(derived, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func derive(_ password: String, salt: [UInt8], rounds: Int, blockSize: Int, parallelism: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: rounds, blockSize: blockSize,
            parallelism: parallelism, maxMemory: 256 << 20)
        return key.withUnsafeBytes { Array($0) }
    }
}
