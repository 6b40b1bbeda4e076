import Crypto
import Foundation
import GatehouseCore

/// A key of its own for sealing the authorization server's secrets at rest when no
/// `GATEHOUSE_SECRET_KEY` is configured: 32 random bytes, base64, in a 0600 file created on
/// first start beside the database. A copy of the database (a backup) then holds only sealed
/// signing keys, which cannot forge a token without this file.
public enum SealingKeyFile {
    /// The key in `path`, or `nil` when there is no such file.
    public static func load(_ path: String) throws -> SymmetricKey? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let text = String(data: data, encoding: .utf8), let bytes = HubSettings.secretKey(base64: text.trimmingCharacters(in: .newlines))
        else { throw SealingKeyFileError.malformed(path) }
        return SymmetricKey(data: bytes)
    }

    /// The key in `path`, created when the file does not exist. Two processes starting at once
    /// end up with the same key: the file is written aside and then linked into place, which
    /// fails for the second one, who reads the first one's.
    public static func loadOrCreate(_ path: String) throws -> SymmetricKey {
        if let existing = try load(path) { return existing }
        let bytes = Base64URL.randomBytes(32)
        let aside = path + ".\(UUID().uuidString).tmp"
        try OwnerOnlyFile.write(Data((Data(bytes).base64EncodedString() + "\n").utf8), toNew: aside)
        defer { unlink(aside) }
        guard link(aside, path) == 0 else {
            let code = errno
            guard code == EEXIST, let written = try load(path) else { throw FileProblem(path: path, action: "create", code: code) }
            return written
        }
        return SymmetricKey(data: bytes)
    }
}

extension SecretBox {
    /// The authorization server's box: it seals with `configuredKey` (`GATEHOUSE_SECRET_KEY`)
    /// when one is set, else with the key in `keyFile`, created on first use. A key file left
    /// from before a key was configured still opens what it sealed.
    public static func authorizationServer(configuredKey: Data?, keyFile: String) throws -> SecretBox {
        guard let configuredKey else { return SecretBox(key: try SealingKeyFile.loadOrCreate(keyFile)) }
        return SecretBox(key: SymmetricKey(data: configuredKey), alsoOpensWith: try SealingKeyFile.load(keyFile).map { [$0] } ?? [])
    }
}

/// A key file that exists but does not hold a key.
public enum SealingKeyFileError: Error, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let path): "\(path) does not hold a key (32 bytes in base64); restore it from where you keep its copy"
        }
    }
}
