import Crypto
import Foundation
import GatehouseCore

/// Encrypts secrets at rest (AES-256-GCM): the secret fields of users' tool configurations, the
/// authorization server's signing keys and the refresh tokens it may hand out again.
///
/// A sealed field is stored as `{"$sealed": "v1.<base64url(nonce ‖ ciphertext ‖ tag)>"}`, sealed
/// bytes as `GHS1` followed by the same combined box, so a copied database holds no usable secret.
/// A box seals with its first key and opens with any of its keys, so data sealed under an older
/// key (a key file, before `GATEHOUSE_SECRET_KEY` was set) stays readable. A box without keys
/// refuses to store secrets.
public struct SecretBox: Sendable {
    private let keys: [SymmetricKey]

    /// A box that seals with `key` and opens with it or any of `alsoOpensWith`; without `key` it
    /// refuses secrets.
    public init(key: SymmetricKey?, alsoOpensWith older: [SymmetricKey] = []) {
        self.keys = (key.map { [$0] } ?? []) + older
    }

    /// A box keyed by the 32 bytes of `GATEHOUSE_SECRET_KEY` (``HubSettings/secretKey``), or none.
    public init(keyBytes: Data?) {
        self.init(key: keyBytes.map { SymmetricKey(data: $0) })
    }

    /// `configuration` with the values of `fields` encrypted.
    public func seal(_ configuration: [String: JSONValue], fields: Set<String>) throws -> [String: JSONValue] {
        var sealed = configuration
        for field in fields {
            guard let value = configuration[field], value != .null else { continue }
            var writer = JSONWriter()
            writer.value(value)
            sealed[field] = ["$sealed": .string("v1." + Base64URL.encode(try combinedBox(Data(writer.bytes), what: field)))]
        }
        return sealed
    }

    /// `configuration` with sealed values decrypted.
    public func open(_ configuration: [String: JSONValue]) throws -> [String: JSONValue] {
        var opened = configuration
        for (field, value) in configuration {
            guard case .string(let text)? = value.objectValue?["$sealed"] else { continue }
            guard text.hasPrefix("v1."), let combined = Base64URL.decode(text.dropFirst(3)) else { throw SecretBoxError.corrupt(field) }
            guard let parsed = try? JSONValue.parse(try openBox(combined, what: field).plain) else { throw SecretBoxError.corrupt(field) }
            opened[field] = parsed
        }
        return opened
    }

    /// `data` sealed with the box's key.
    public func seal(_ data: Data, what: String) throws -> Data {
        Self.magic + (try combinedBox(data, what: what))
    }

    /// Bytes stored by ``seal(_:what:)``, opened; bytes stored before sealing existed are returned
    /// as they are. `needsResealing` is true when they were not sealed with the box's first key.
    public func openIfSealed(_ data: Data, what: String) throws -> (plain: Data, needsResealing: Bool) {
        guard data.starts(with: Self.magic) else { return (data, true) }
        return try openBox(data.dropFirst(Self.magic.count), what: what)
    }

    /// Bytes sealed by ``seal(_:what:)``, opened; anything not sealed by this box is refused
    /// (for data that must have come from the server, such as state a page carries).
    public func openSealed(_ data: Data, what: String) throws -> Data {
        guard data.starts(with: Self.magic) else { throw SecretBoxError.corrupt(what) }
        return try openBox(data.dropFirst(Self.magic.count), what: what).plain
    }

    private func combinedBox(_ data: Data, what: String) throws -> Data {
        guard let key = keys.first else { throw SecretBoxError.noKey(what) }
        guard let combined = try AES.GCM.seal(data, using: key).combined else { throw SecretBoxError.corrupt(what) }
        return combined
    }

    private func openBox(_ combined: Data, what: String) throws -> (plain: Data, needsResealing: Bool) {
        guard !keys.isEmpty else { throw SecretBoxError.noKey(what) }
        guard let box = try? AES.GCM.SealedBox(combined: combined) else { throw SecretBoxError.corrupt(what) }
        for (index, key) in keys.enumerated() {
            if let plain = try? AES.GCM.open(box, using: key) { return (plain, index > 0) }
        }
        throw SecretBoxError.corrupt(what)
    }

    private static let magic = Data("GHS1".utf8)

    /// `configuration` with secret values replaced by a placeholder, for showing to users.
    public static func redact(_ configuration: [String: JSONValue]) -> [String: JSONValue] {
        configuration.mapValues { $0.objectValue?["$sealed"] != nil ? "********" : $0 }
    }
}

/// Why a secret could not be sealed or opened.
public enum SecretBoxError: Error, CustomStringConvertible {
    case noKey(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .noKey(let field):
            "\(field) is a secret and the server has no GATEHOUSE_SECRET_KEY to encrypt or decrypt it with; ask the operator to set one"
        case .corrupt(let field):
            "\(field) cannot be decrypted with GATEHOUSE_SECRET_KEY or the key file (was the key changed or the key file lost?)"
        }
    }
}
