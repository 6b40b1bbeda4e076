import Foundation
import GatehouseCore

/// What the client remembers about one MCP server: the authorization server, the client
/// registration there, and the tokens.
public struct StoredLogin: Sendable, Codable, Equatable {
    public var serverURL: String
    /// The RFC 8707 resource tokens are requested for (the protected resource's `resource`);
    /// `nil` at a plain OAuth provider that takes none.
    public var resource: String?
    public var authorizationServer: AuthorizationServerInfo
    public var clientID: String
    public var clientSecret: String?
    /// The redirect URI the client was registered with; its port is reused for the next login.
    public var redirectURI: String?
    public var accessToken: String?
    public var refreshToken: String?
    /// Absolute expiry of the access token.
    public var expiresAt: Date?
    /// The scopes granted: the token response's `scope`, else those asked for.
    public var scopes: [String]
    /// The scopes the sign-in asked for. A provider may grant them under other names (Google
    /// answers `email` with its URL form), so what was asked is not asked again.
    public var askedScopes: [String]? = nil
    /// How the secret goes to the token endpoint; `nil` in the form body, as for the clients
    /// Gatehouse registers with MCP servers.
    public var clientSecretMethod: ClientSecretMethod? = nil

    /// True when the access token is missing or expires within `margin` seconds.
    public func accessTokenIsStale(now: Date = Date(), margin: TimeInterval = 30) -> Bool {
        guard accessToken != nil else { return true }
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) < margin
    }
}

/// The token cache: one JSON file, readable by its owner only, keyed by server URL.
///
/// It lives in `$XDG_CONFIG_HOME/gatehouse` (else `~/.config/gatehouse`) unless told otherwise.
/// Writes go to a temporary file that is renamed over the old one, so a crash never leaves a
/// half-written cache.
public struct TokenCache: Sendable {
    public let directory: URL

    public init(directory: URL? = nil) {
        self.directory = directory ?? Self.defaultDirectory()
    }

    public var file: URL { directory.appendingPathComponent("tokens.json") }

    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("gatehouse")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/gatehouse")
    }

    public func login(for serverURL: String) throws(ClientError) -> StoredLogin? {
        try all()[serverURL]
    }

    public func all() throws(ClientError) -> [String: StoredLogin] {
        guard let data = FileManager.default.contents(atPath: file.path) else { return [:] }
        do {
            return try JSONDecoder.tokenCache.decode([String: StoredLogin].self, from: data)
        } catch {
            throw ClientError("the token cache \(file.path) is unreadable; delete it or run `gatehouse logout --all`")
        }
    }

    public func save(_ login: StoredLogin) throws(ClientError) {
        var logins = try all()
        logins[login.serverURL] = login
        try write(logins)
    }

    /// Forgets `serverURL`; returns false when nothing was stored for it.
    @discardableResult
    public func remove(_ serverURL: String) throws(ClientError) -> Bool {
        var logins = try all()
        guard logins.removeValue(forKey: serverURL) != nil else { return false }
        try write(logins)
        return true
    }

    public func removeAll() throws(ClientError) {
        try write([:])
    }

    private func write(_ logins: [String: StoredLogin]) throws(ClientError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder.tokenCache
            let data = try encoder.encode(logins)
            let temporary = directory.appendingPathComponent(".tokens.\(UUID().uuidString).tmp")
            guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ClientError("cannot write \(temporary.path)")
            }
            // rename(2) replaces the old file atomically.
            guard rename(temporary.path, file.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                throw ClientError("cannot replace \(file.path) (errno \(errno))")
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError("cannot write the token cache in \(directory.path): \(error)")
        }
    }
}

extension JSONEncoder {
    static var tokenCache: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var tokenCache: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
