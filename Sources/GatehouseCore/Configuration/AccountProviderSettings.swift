import Foundation

/// A third-party OAuth 2.0 provider hub users may connect their own accounts at (GitHub,
/// Google, any provider the operator registers the hub with), so their tools can call its API
/// with their token: `GATEHOUSE_ACCOUNTS=github,acme` and, for each, `GATEHOUSE_ACCOUNT_<NAME>_*`.
public struct AccountProvider: Sendable, Equatable {
    /// Where the provider's endpoints come from.
    public enum Endpoints: Sendable, Equatable {
        /// Given by the operator (or a preset): plain OAuth 2.0, as GitHub is.
        case fixed(authorize: String, token: String)
        /// Found by RFC 8414 / OpenID Connect discovery from the issuer.
        case discovered(issuer: String)
    }

    /// Lowercase letters, digits and `-`; the connection's name, e.g. `github`.
    public var name: String
    /// The provider's name in pages and prompts, e.g. "GitHub".
    public var title: String
    public var endpoints: Endpoints
    public var clientID: String
    /// `nil` for a public client (PKCE only).
    public var clientSecret: SecretString?
    /// How the secret goes to the token endpoint.
    public var clientSecretMethod: ClientSecretMethod
    /// Scopes every connection asks for; tools may ask for more.
    public var scopes: [String]
    /// Hosts the user's token is sent to: `api.github.com`, or `*.googleapis.com` for any
    /// subdomain. Never anywhere else, whatever a tool is told to fetch.
    public var apiHosts: [String]
    /// The RFC 8707 resource to ask tokens for, when the provider takes one.
    public var resource: String?
    /// Further parameters of the authorization request (Google's `access_type=offline`).
    public var authorizeParameters: [String: String]

    public init(
        name: String, title: String, endpoints: Endpoints, clientID: String, clientSecret: SecretString?,
        clientSecretMethod: ClientSecretMethod = .basic, scopes: [String], apiHosts: [String], resource: String? = nil,
        authorizeParameters: [String: String] = [:]
    ) {
        self.name = name
        self.title = title
        self.endpoints = endpoints
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientSecretMethod = clientSecretMethod
        self.scopes = scopes
        self.apiHosts = apiHosts
        self.resource = resource
        self.authorizeParameters = authorizeParameters
    }

    /// Whether the user's token may be sent to `host` (and `port`, when the URL names one).
    public func sendsToken(toHost host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        return apiHosts.contains { pattern in
            if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) }
            return pattern == host || port.map { pattern == "\(host):\($0)" } == true
        }
    }

    /// What a preset fills in when the operator does not: the provider's documented endpoints.
    struct Preset {
        var title: String
        var endpoints: Endpoints
        var scopes: [String]
        var apiHosts: [String]
        var clientSecretMethod = ClientSecretMethod.basic
        var authorizeParameters: [String: String] = [:]
    }

    static let presets: [String: Preset] = [
        // https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
        "github": Preset(
            title: "GitHub",
            endpoints: .fixed(authorize: "https://github.com/login/oauth/authorize", token: "https://github.com/login/oauth/access_token"),
            scopes: ["read:user"], apiHosts: ["api.github.com"], clientSecretMethod: .post),
        // https://developers.google.com/identity/protocols/oauth2/web-server: a refresh token only
        // with access_type=offline; prompt=consent so a second sign-in gets one again.
        "google": Preset(
            title: "Google",
            endpoints: .fixed(authorize: "https://accounts.google.com/o/oauth2/v2/auth", token: "https://oauth2.googleapis.com/token"),
            scopes: ["openid", "email"], apiHosts: ["*.googleapis.com"],
            authorizeParameters: ["access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"]),
    ]
}

extension AccountProvider {
    /// The providers `GATEHOUSE_ACCOUNTS` names, each from its `GATEHOUSE_ACCOUNT_<NAME>_*`
    /// settings over its preset (`github`, `google`, or `GATEHOUSE_ACCOUNT_<NAME>_PRESET`).
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> [AccountProvider] {
        let read = SettingReader(sources: sources)
        guard let names = try read.list(.accounts) else { return [] }
        var providers: [AccountProvider] = []
        for name in names {
            // A provider's name is its accounts' connection name.
            guard ConnectionName.isValid(name) else {
                throw read.error(.accounts, "\(name.prefix(32)) is not a provider name: 1 to 24 lowercase letters, digits and -, e.g. github")
            }
            guard !providers.contains(where: { $0.name == name }) else { throw read.error(.accounts, "\(name) is named twice") }
            providers.append(try provider(named: name, read))
        }
        return providers
    }

    private static func provider(named name: String, _ read: SettingReader) throws(ConfigurationError) -> AccountProvider {
        let settings = Setting.account(name)
        let presetName = try read(settings.preset) { presets[$0.lowercased()] != nil ? $0.lowercased() : nil } ?? name
        let preset = presets[presetName]
        func url(_ setting: Setting) throws(ConfigurationError) -> String? {
            guard let text = try read(setting, { $0 }) else { return nil }
            do {
                return try URLSetting.https(text, allowLoopbackHTTP: true)
            } catch {
                throw read.error(setting, "\(text.prefix(64)) is not an https URL (http only on loopback)")
            }
        }
        let endpoints: Endpoints
        switch (try url(settings.issuer), try url(settings.authorizeURL), try url(settings.tokenURL)) {
        case (.some, nil, nil):
            // RFC 8414 §3.3: the metadata's issuer must be identical to this, trailing slash and all.
            endpoints = .discovered(issuer: try read(settings.issuer, { $0 }) ?? "")
        case (nil, let authorize?, let token?): endpoints = .fixed(authorize: authorize, token: token)
        case (nil, nil, nil):
            guard let preset else {
                throw read.error(
                    settings.issuer,
                    "the account provider \(name) needs its endpoints: an issuer to discover them from, or an authorize and a token URL (\(settings.authorizeURL), \(settings.tokenURL))"
                )
            }
            endpoints = preset.endpoints
        default:
            throw read.error(settings.issuer, "give either the issuer or both the authorize and token URLs of \(name), not a mix")
        }
        guard let clientID = try read(settings.clientID, { $0.isEmpty ? nil : $0 }) else {
            throw read.error(settings.clientID, "is required for the account provider \(name): the client id the provider gave the hub")
        }
        let apiHosts = try read.list(settings.apiHosts) ?? preset?.apiHosts ?? []
        guard !apiHosts.isEmpty else {
            throw read.error(settings.apiHosts, "name the hosts \(name) tokens may be sent to, e.g. api.example.com or *.example.com")
        }
        for host in apiHosts where host.wholeMatch(of: /(\*\.)?[a-z0-9.-]+(:[0-9]+)?/) == nil {
            throw read.error(settings.apiHosts, "\(host.prefix(64)) is not a lowercase host name (a leading *. matches its subdomains)")
        }
        var authorizeParameters = preset?.authorizeParameters ?? [:]
        if let extra = try read(settings.authorizeParameters, { URLComponents(string: "?" + $0)?.queryItems }) {
            for item in extra {
                guard let value = item.value, !Self.reservedParameters.contains(item.name) else {
                    throw read.error(settings.authorizeParameters, "\(item.name) cannot be set: the hub sends it itself, or it has no value")
                }
                authorizeParameters[item.name] = value
            }
        }
        return AccountProvider(
            name: name, title: try read(settings.title, { $0.isEmpty ? nil : $0 }) ?? preset?.title ?? name, endpoints: endpoints,
            clientID: clientID, clientSecret: try read(settings.clientSecret, { $0.isEmpty ? nil : SecretString($0) }),
            clientSecretMethod: try read(settings.clientSecretMethod, { ClientSecretMethod(rawValue: $0) }) ?? preset?.clientSecretMethod ?? .basic,
            scopes: try read.list(settings.scopes) ?? preset?.scopes ?? [], apiHosts: apiHosts, resource: try url(settings.resource),
            authorizeParameters: authorizeParameters)
    }

    /// What the authorization request carries for the hub's own reasons.
    private static let reservedParameters: Set<String> = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "resource",
    ]
}

extension Setting {
    public static let accounts = Setting(
        name: "accounts", environmentNames: ["GATEHOUSE_ACCOUNTS"],
        summary:
            "Comma-separated names of the OAuth providers hub users may connect their accounts at (github, google, or your own), each set up with GATEHOUSE_ACCOUNT_<NAME>_* (docs/connections.md).")

    /// The settings of account provider `name`, read as `GATEHOUSE_ACCOUNT_<NAME>_*` (`-` as `_`).
    public struct AccountSettings: Sendable {
        public let preset, title, clientID, clientSecret, clientSecretMethod, issuer, authorizeURL, tokenURL, scopes, apiHosts, resource,
            authorizeParameters: Setting

        public var all: [Setting] {
            [preset, title, clientID, clientSecret, clientSecretMethod, issuer, authorizeURL, tokenURL, scopes, apiHosts, resource, authorizeParameters]
        }
    }

    public static func account(_ name: String) -> AccountSettings {
        let prefix = "GATEHOUSE_ACCOUNT_" + name.uppercased().replacingOccurrences(of: "-", with: "_") + "_"
        func setting(_ suffix: String, _ summary: String) -> Setting {
            Setting(name: "account.\(name).\(suffix.lowercased())", environmentNames: [prefix + suffix], summary: summary)
        }
        return AccountSettings(
            preset: setting("PRESET", "github or google: that provider's endpoints, scopes and API hosts (default: the name, when it is one)."),
            title: setting("TITLE", "The provider's name in pages and prompts."),
            clientID: setting("CLIENT_ID", "The client id the provider gave the hub (its callback is BASE_URL/connect/callback)."),
            clientSecret: setting("CLIENT_SECRET", "The client secret, unless the hub is a public client there."),
            clientSecretMethod: setting(
                "CLIENT_AUTH", "client_secret_basic (the default) or client_secret_post (GitHub's preset): how the secret goes to the token endpoint."),
            issuer: setting("ISSUER", "The provider's issuer, to discover its endpoints from (RFC 8414 or OpenID Connect)."),
            authorizeURL: setting("AUTHORIZE_URL", "The provider's authorization endpoint (with TOKEN_URL, instead of ISSUER)."),
            tokenURL: setting("TOKEN_URL", "The provider's token endpoint."),
            scopes: setting("SCOPES", "Scopes every connection asks for; tools may ask for more."),
            apiHosts: setting("API_HOSTS", "Hosts users' tokens may be sent to, e.g. api.github.com or *.googleapis.com."),
            resource: setting("RESOURCE", "The RFC 8707 resource to ask tokens for, when the provider takes one."),
            authorizeParameters: setting("AUTHORIZE_PARAMS", "Further authorization request parameters, as a query: access_type=offline&prompt=consent."))
    }
}
