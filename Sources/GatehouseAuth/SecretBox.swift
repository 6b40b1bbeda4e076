import Crypto
import Foundation
import GatehouseCore

/// Encrypts secrets at rest (AES-256-GCM): the secret fields of users' tool configurations and
/// the authorization server's signing keys.
///
/// The key comes from `GATEHOUSE_SECRET_KEY` (32 bytes, base64). A sealed field is stored as
/// `{"$sealed": "v1.<base64url(nonce ‖ ciphertext ‖ tag)>"}`, sealed bytes as `GHS1` followed by
/// the same combined box, so a copied database holds no usable secret. Without a key,
/// configurations that contain secrets are refused and signing keys are stored as they are.
public struct SecretBox: Sendable {
    private let key: SymmetricKey?

    /// A box with `key`, or one that refuses to store secrets when `key` is nil.
    public init(key: SymmetricKey?) {
        self.key = key
    }

    /// A box keyed by the 32 bytes of `GATEHOUSE_SECRET_KEY` (``HubSettings/secretKey``), or none.
    public init(keyBytes: Data?) {
        self.init(key: keyBytes.map { SymmetricKey(data: $0) })
    }

    /// True when secrets can be stored.
    public var canSeal: Bool { key != nil }

    /// `configuration` with the values of `fields` encrypted.
    public func seal(_ configuration: [String: JSONValue], fields: Set<String>) throws -> [String: JSONValue] {
        var sealed = configuration
        for field in fields {
            guard let value = configuration[field], value != .null else { continue }
            guard let key else { throw SecretBoxError.noKey(field) }
            var writer = JSONWriter()
            writer.value(value)
            let box = try AES.GCM.seal(Data(writer.bytes), using: key)
            guard let combined = box.combined else { throw SecretBoxError.corrupt(field) }
            sealed[field] = ["$sealed": .string("v1." + Base64URL.encode(combined))]
        }
        return sealed
    }

    /// `configuration` with sealed values decrypted.
    public func open(_ configuration: [String: JSONValue]) throws -> [String: JSONValue] {
        var opened = configuration
        for (field, value) in configuration {
            guard case .string(let text)? = value.objectValue?["$sealed"] else { continue }
            guard let key else { throw SecretBoxError.noKey(field) }
            guard text.hasPrefix("v1."), let combined = Base64URL.decode(text.dropFirst(3)),
                let box = try? AES.GCM.SealedBox(combined: combined), let plain = try? AES.GCM.open(box, using: key),
                let parsed = try? JSONValue.parse(plain)
            else { throw SecretBoxError.corrupt(field) }
            opened[field] = parsed
        }
        return opened
    }

    /// `data` sealed when there is a key, else unchanged.
    public func sealIfPossible(_ data: Data) throws -> Data {
        guard let key else { return data }
        guard let combined = try AES.GCM.seal(data, using: key).combined else { throw SecretBoxError.corrupt("bytes") }
        return Self.magic + combined
    }

    /// Bytes stored by ``sealIfPossible(_:)``: opened when sealed, returned as they are when not.
    public func openIfSealed(_ data: Data, what: String) throws -> Data {
        guard data.starts(with: Self.magic) else { return data }
        guard let key else { throw SecretBoxError.noKey(what) }
        guard let box = try? AES.GCM.SealedBox(combined: data.dropFirst(Self.magic.count)), let plain = try? AES.GCM.open(box, using: key)
        else { throw SecretBoxError.corrupt(what) }
        return plain
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
        case .corrupt(let field): "the stored secret \(field) cannot be decrypted (was GATEHOUSE_SECRET_KEY changed?)"
        }
    }
}
