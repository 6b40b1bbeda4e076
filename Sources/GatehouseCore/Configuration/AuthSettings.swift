import Foundation

/// How the MCP endpoint authenticates callers.
public struct AuthSettings: Sendable, Equatable {
    /// Who issues the access tokens Gatehouse accepts.
    public enum Provider: Sendable, Equatable {
        /// No verification: every caller is anonymous.
        case none
        /// Gatehouse's own authorization server, on the same port (the default).
        case embedded
        /// WorkOS AuthKit: JWTs against the domain's JWKS, opaque tokens against its userinfo.
        case authKit(domain: String)
        /// Any issuer of JWT access tokens, with its JWKS given or discovered from its metadata.
        case jwt(issuer: String, jwksURI: String?)
        /// RFC 7662 introspection of opaque tokens.
        case introspection(Introspection)
        /// Fixed development tokens.
        case staticTokens([StaticToken])
    }

    /// An RFC 7662 introspection endpoint and the client credentials to call it with.
    public struct Introspection: Sendable, Equatable {
        public var endpoint: String
        public var clientID: String
        public var clientSecret: String
        /// True for `client_secret_post`, false for `client_secret_basic`.
        public var sendsCredentialsInBody: Bool

        public init(endpoint: String, clientID: String, clientSecret: String, sendsCredentialsInBody: Bool) {
            self.endpoint = endpoint
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.sendsCredentialsInBody = sendsCredentialsInBody
        }
    }

    /// A development token from `MCP_STATIC_TOKENS`.
    public struct StaticToken: Sendable, Equatable {
        public var token: String
        public var clientID: String
        public var subject: String
        public var scopes: [String]

        public init(token: String, clientID: String, subject: String, scopes: [String]) {
            self.token = token
            self.clientID = clientID
            self.subject = subject
            self.scopes = scopes
        }
    }

    public var provider: Provider = .none
    /// Accepted `aud` values; empty means "the MCP endpoint's canonical URL".
    public var audiences: [String] = []
    /// Accepted JWT `alg` values. `none` and HMAC are never accepted.
    public var algorithms: [String] = AuthSettings.supportedAlgorithms
    /// Scopes every request needs.
    public var requiredScopes: [String] = []
    /// Issuer advertised in protected-resource metadata; `nil` means the provider's own issuer.
    public var authorizationServer: String?
    public var leeway: Duration = .seconds(30)
    public var jwksCacheTTL: Duration = .seconds(300)
    public var trustForwardedHeaders = false
    public var lazyProvider = false
    public var resourceName = "Gatehouse"

    public init() {}

    /// Asymmetric JWS algorithms Gatehouse can verify (RFC 7518 §3, RFC 8037).
    public static let supportedAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]

    /// True when requests must carry a valid token.
    public var isEnabled: Bool { provider != .none }

    /// The provider's kind as users name it: `embedded`, `authkit`, `jwt`, `introspection`, `static` or `none`.
    public var providerKind: String {
        switch provider {
        case .none: "none"
        case .embedded: "embedded"
        case .authKit: "authkit"
        case .jwt: "jwt"
        case .introspection: "introspection"
        case .staticTokens: "static"
        }
    }

    /// The issuer to list in `authorization_servers`, if the provider has one.
    public var advertisedAuthorizationServer: String? {
        if let authorizationServer { return authorizationServer }
        switch provider {
        case .authKit(let domain): return domain
        case .jwt(let issuer, _): return issuer
        case .none, .embedded, .introspection, .staticTokens: return nil
        }
    }
}

extension AuthSettings {
    /// Resolves the resource-server settings; `isLoopback` is whether the public base URL is loopback.
    static func load(from sources: ConfigurationSources, publicBaseIsLoopback: Bool) throws(ConfigurationError) -> AuthSettings {
        let read = SettingReader(sources: sources)
        var settings = AuthSettings()
        settings.provider = try loadProvider(read, publicBaseIsLoopback: publicBaseIsLoopback)
        if let audiences = try read.list(.jwtAudience) { settings.audiences = audiences }
        if let algorithms = try read.list(.jwtAlgorithms) {
            for algorithm in algorithms where !supportedAlgorithms.contains(algorithm) {
                throw read.error(
                    .jwtAlgorithms,
                    "\(algorithm.prefix(16)) is not accepted; choose among \(supportedAlgorithms.joined(separator: ", ")) (never none or HS256)")
            }
            settings.algorithms = algorithms
        }
        if let scopes = try read.list(.requiredScopes) { settings.requiredScopes = scopes }
        // Advertised byte for byte: clients compare it with the authorization server's `issuer` exactly.
        settings.authorizationServer = try read(.authorizationServer) { value in
            _ = try URLSetting.https(value, allowLoopbackHTTP: true)
            return value
        }
        if let seconds = try read(.jwtLeeway, { Int($0).flatMap { (0...300).contains($0) ? $0 : nil } }) {
            settings.leeway = .seconds(seconds)
        }
        if let seconds = try read(.jwksCacheTTL, { Int($0).flatMap { $0 > 0 ? $0 : nil } }) {
            settings.jwksCacheTTL = .seconds(seconds)
        }
        settings.trustForwardedHeaders = try read.flag(.trustForwardedHeaders) ?? false
        settings.lazyProvider = try read.flag(.lazyProvider) ?? false
        if let name = try read(.resourceName, { $0.isEmpty ? nil : $0 }) { settings.resourceName = name }
        return settings
    }

    private static func loadProvider(_ read: SettingReader, publicBaseIsLoopback: Bool) throws(ConfigurationError) -> Provider {
        let explicit = try read(.providerType) {
            ["embedded", "authkit", "jwt", "introspection", "static", "none"].contains($0.lowercased()) ? $0.lowercased() : nil
        }
        let inferred: [String] = [
            read.isSet(.authKitDomain) ? "authkit" : nil,
            read.isSet(.jwtIssuer) || read.isSet(.jwtJWKSURI) ? "jwt" : nil,
            read.isSet(.introspectionURL) ? "introspection" : nil,
        ].compactMap { $0 }
        if explicit == nil, inferred.count > 1 {
            throw ConfigurationError(
                key: "MCP_PROVIDER_TYPE", layer: nil,
                problem: "settings for several providers (\(inferred.joined(separator: ", "))) are set; choose one with MCP_PROVIDER_TYPE")
        }
        switch explicit ?? inferred.first ?? "embedded" {
        case "none":
            return .none
        case "authkit":
            guard let domain = try read(.authKitDomain, { try URLSetting.https($0, allowLoopbackHTTP: true) }) else {
                throw read.error(.authKitDomain, "required with MCP_PROVIDER_TYPE=authkit, e.g. https://your-project-12345.authkit.app")
            }
            return .authKit(domain: domain)
        case "jwt":
            let jwks = try read(.jwtJWKSURI) { try URLSetting.https($0, allowLoopbackHTTP: true) }
            guard let issuer = try read(.jwtIssuer, { $0.isEmpty ? nil : $0 }) else {
                throw read.error(.jwtIssuer, "required for JWT verification: the exact iss value of your tokens")
            }
            if jwks == nil { _ = try URLSetting.https(issuer, allowLoopbackHTTP: true, setting: read, .jwtIssuer) }
            return .jwt(issuer: issuer, jwksURI: jwks)
        case "introspection":
            guard let endpoint = try read(.introspectionURL, { try URLSetting.https($0, allowLoopbackHTTP: true) }) else {
                throw read.error(.introspectionURL, "required with MCP_PROVIDER_TYPE=introspection")
            }
            guard let clientID = try read(.introspectionClientID, { $0 }), let secret = try read(.introspectionClientSecret, { $0 }) else {
                throw read.error(
                    .introspectionClientID, "introspection needs MCP_INTROSPECTION_CLIENT_ID and MCP_INTROSPECTION_CLIENT_SECRET")
            }
            let method = try read(.introspectionAuthMethod) { ["client_secret_basic", "client_secret_post"].contains($0) ? $0 : nil }
            return .introspection(
                Introspection(
                    endpoint: endpoint, clientID: clientID, clientSecret: secret,
                    sendsCredentialsInBody: method == "client_secret_post"))
        case "static":
            guard let tokens = try read(.staticTokens, StaticTokenList.parse) else {
                throw read.error(.staticTokens, "required with MCP_PROVIDER_TYPE=static, e.g. dev-token:dev-client:alice:mcp:read")
            }
            // Static tokens never expire and are written in configuration: fine on a laptop,
            // never on a server others can reach.
            if !publicBaseIsLoopback, try read.flag(.allowStaticTokensRemotely) != true {
                throw read.error(
                    .staticTokens,
                    "static development tokens are refused when the base URL is not loopback; "
                        + "set GATEHOUSE_ALLOW_STATIC_TOKENS_REMOTELY=true only if you accept that risk")
            }
            return .staticTokens(tokens)
        default:
            return .embedded
        }
    }
}

/// Parsing of `MCP_STATIC_TOKENS`: `token:client:user:scope1,scope2;…`.
enum StaticTokenList {
    static func parse(_ text: String) throws -> [AuthSettings.StaticToken] {
        var tokens: [AuthSettings.StaticToken] = []
        for (index, entry) in text.split(separator: ";").enumerated() {
            let fields = entry.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, !fields[2].isEmpty else {
                throw ConfigurationValueError(
                    "entry \(index + 1) is not token:client:user[:scope1,scope2] (values are not shown, they are secrets)")
            }
            let scopes = fields.count > 3 ? fields[3].split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) : []
            tokens.append(.init(token: String(fields[0]), clientID: String(fields[1]), subject: String(fields[2]), scopes: scopes))
        }
        guard !tokens.isEmpty else { throw ConfigurationValueError("no tokens given") }
        return tokens
    }
}

/// Validation of URL settings that name a provider endpoint.
enum URLSetting {
    /// Returns the URL without a trailing slash; requires https except for loopback hosts when allowed.
    static func https(_ text: String, allowLoopbackHTTP: Bool) throws -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.user == nil
        else {
            throw ConfigurationValueError("cannot use \"\(text.prefix(64))\"; expected an absolute https URL")
        }
        guard scheme == "https" || (scheme == "http" && allowLoopbackHTTP && HostName.isLoopback(host)) else {
            throw ConfigurationValueError("\(text.prefix(64)) must use https (plain http is accepted only for localhost)")
        }
        var normalized = text
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return normalized
    }

    static func https(_ text: String, allowLoopbackHTTP: Bool, setting read: SettingReader, _ setting: Setting) throws(ConfigurationError) -> String {
        do {
            return try https(text, allowLoopbackHTTP: allowLoopbackHTTP)
        } catch {
            throw read.error(setting, "without MCP_JWT_JWKS_URI the issuer must be an https URL to discover keys from")
        }
    }
}
