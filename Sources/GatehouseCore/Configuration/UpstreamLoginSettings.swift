import Foundation

/// How people sign in to the embedded authorization server: with a local password (the
/// default), or through an upstream identity provider that the server sends them to.
public struct UpstreamLoginSettings: Sendable, Equatable {
    /// The upstream provider, by protocol.
    public enum Kind: Sendable, Equatable {
        /// Any OpenID Connect provider, found by discovery from its issuer.
        case oidc(issuer: String)
        /// A plain OAuth 2.0 provider (GitHub): the person's identity comes from the userinfo URL.
        case oauth2(authorizeURL: String, tokenURL: String, userInfoURL: String)
        /// WorkOS User Management: AuthKit, or an organization's SSO when one is named.
        case workOS(apiURL: String, organizationID: String?, connectionID: String?)
    }

    public var kind: Kind
    public var clientID: String
    /// The WorkOS API key for ``Kind/workOS(apiURL:organizationID:connectionID:)``.
    public var clientSecret: SecretString
    /// Scopes asked of the provider.
    public var scopes: [String]
    /// The provider's name on the consent page ("Continue with …").
    public var displayName: String
    /// True to ask the provider, on each refresh of our tokens, whether the person is still
    /// signed in there (refreshing the upstream tokens); a provider that says no ends the login.
    public var recheckOnRefresh = true
    /// Redirect URIs accepted for clients that present ``clientID`` itself as their `client_id`
    /// (given it out of band, as claude.ai is), instead of registering.
    public var directClientRedirectURIs: [String] = Self.defaultDirectClientRedirectURIs

    public static let defaultDirectClientRedirectURIs = [
        "https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback", "http://127.0.0.1/callback",
        "http://localhost/callback",
    ]

    public init(kind: Kind, clientID: String, clientSecret: SecretString, scopes: [String], displayName: String) {
        self.kind = kind
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.displayName = displayName
    }
}

extension UpstreamLoginSettings {
    /// The upstream login the settings describe, or `nil` for local passwords.
    ///
    /// `GATEHOUSE_LOGIN` picks the kind; without it, WorkOS credentials mean `workos`, an
    /// upstream issuer means `oidc`, an upstream authorize URL means `oauth2`.
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self? {
        let read = SettingReader(sources: sources)
        let kindName: String
        if let named = try read(.loginMethod, { ["password", "oidc", "oauth2", "workos"].contains($0.lowercased()) ? $0.lowercased() : nil }) {
            kindName = named
        } else if read.isSet(.workOSClientID) || read.isSet(.workOSAPIKey) {
            kindName = "workos"
        } else if read.isSet(.upstreamIssuer) {
            kindName = "oidc"
        } else if read.isSet(.upstreamAuthorizeURL) {
            kindName = "oauth2"
        } else {
            return nil
        }
        func url(_ setting: Setting) throws(ConfigurationError) -> String {
            guard let text = try read(setting, { $0 }) else { throw read.error(setting, "is required for GATEHOUSE_LOGIN=\(kindName)") }
            do {
                return try URLSetting.https(text, allowLoopbackHTTP: true)
            } catch {
                throw read.error(setting, "\(text.prefix(64)) is not an https URL (http only on loopback)")
            }
        }
        func required(_ setting: Setting) throws(ConfigurationError) -> String {
            guard let value = try read(setting, { $0.isEmpty ? nil : $0 }) else {
                throw read.error(setting, "is required for GATEHOUSE_LOGIN=\(kindName)")
            }
            return value
        }
        var settings: UpstreamLoginSettings
        switch kindName {
        case "password":
            return nil
        case "workos":
            let organization = try read(.workOSOrganizationID, { $0.isEmpty ? nil : $0 })
            let connection = try read(.workOSConnectionID, { $0.isEmpty ? nil : $0 })
            let apiURL = read.isSet(.workOSAPIURL) ? try url(.workOSAPIURL) : "https://api.workos.com"
            settings = UpstreamLoginSettings(
                kind: .workOS(apiURL: apiURL, organizationID: organization, connectionID: connection),
                clientID: try required(.workOSClientID), clientSecret: SecretString(try required(.workOSAPIKey)), scopes: [],
                displayName: "WorkOS")
        case "oidc":
            let issuer = try url(.upstreamIssuer)
            settings = UpstreamLoginSettings(
                kind: .oidc(issuer: issuer), clientID: try required(.upstreamClientID), clientSecret: SecretString(try required(.upstreamClientSecret)),
                scopes: ["openid", "email", "profile"], displayName: URLComponents(string: issuer)?.host ?? issuer)
        default:
            settings = UpstreamLoginSettings(
                kind: .oauth2(
                    authorizeURL: try url(.upstreamAuthorizeURL), tokenURL: try url(.upstreamTokenURL),
                    userInfoURL: try url(.upstreamUserInfoURL)),
                clientID: try required(.upstreamClientID), clientSecret: SecretString(try required(.upstreamClientSecret)), scopes: [],
                displayName: "")
            settings.displayName = URLComponents(string: try url(.upstreamAuthorizeURL))?.host ?? "your provider"
        }
        if let scopes = try read.list(.upstreamScopes) {
            if case .oidc = settings.kind, !scopes.contains("openid") {
                throw read.error(.upstreamScopes, "an OpenID Connect login needs the openid scope")
            }
            settings.scopes = scopes
        }
        if let name = try read(.upstreamName, { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }) {
            settings.displayName = name
        }
        settings.recheckOnRefresh = try read.flag(.upstreamRecheck) ?? true
        if let uris = try read.list(.upstreamDirectRedirectURIs) { settings.directClientRedirectURIs = uris }
        return settings
    }
}

extension Setting {
    public static let loginMethod = Setting(
        name: "loginMethod", flag: "login", environmentNames: ["GATEHOUSE_LOGIN"],
        summary: "How people sign in to the embedded authorization server: password, oidc, oauth2 or workos (default: inferred from the settings below, else password).")
    public static let upstreamIssuer = Setting(
        name: "upstreamIssuer", flag: "upstream-issuer", environmentNames: ["GATEHOUSE_UPSTREAM_ISSUER"],
        summary: "Issuer of the OpenID Connect provider people sign in with (discovery from ISSUER/.well-known/openid-configuration).")
    public static let upstreamClientID = Setting(
        name: "upstreamClientID", flag: "upstream-client-id", environmentNames: ["GATEHOUSE_UPSTREAM_CLIENT_ID"],
        summary: "Client id Gatehouse has at the upstream provider.")
    public static let upstreamClientSecret = Setting(
        name: "upstreamClientSecret", environmentNames: ["GATEHOUSE_UPSTREAM_CLIENT_SECRET"],
        summary: "Client secret Gatehouse has at the upstream provider (never logged).")
    public static let upstreamScopes = Setting(
        name: "upstreamScopes", flag: "upstream-scopes", environmentNames: ["GATEHOUSE_UPSTREAM_SCOPES"],
        summary: "Scopes asked of the upstream provider (default openid email profile for OpenID Connect).")
    public static let upstreamAuthorizeURL = Setting(
        name: "upstreamAuthorizeURL", environmentNames: ["GATEHOUSE_UPSTREAM_AUTHORIZE_URL"],
        summary: "Authorization endpoint of a plain OAuth 2.0 provider, e.g. https://github.com/login/oauth/authorize.")
    public static let upstreamTokenURL = Setting(
        name: "upstreamTokenURL", environmentNames: ["GATEHOUSE_UPSTREAM_TOKEN_URL"],
        summary: "Token endpoint of a plain OAuth 2.0 provider, e.g. https://github.com/login/oauth/access_token.")
    public static let upstreamUserInfoURL = Setting(
        name: "upstreamUserInfoURL", environmentNames: ["GATEHOUSE_UPSTREAM_USERINFO_URL"],
        summary: "URL that returns the signed-in person as JSON (id or sub, email, name), e.g. https://api.github.com/user.")
    public static let upstreamName = Setting(
        name: "upstreamName", environmentNames: ["GATEHOUSE_UPSTREAM_NAME"],
        summary: "The provider's name on the consent page, e.g. Google (default: its host name).")
    public static let upstreamRecheck = Setting(
        name: "upstreamRecheck", environmentNames: ["GATEHOUSE_UPSTREAM_RECHECK"],
        summary: "true (default) to ask the provider on each refresh whether the person is still signed in there.")
    public static let upstreamDirectRedirectURIs = Setting(
        name: "upstreamDirectRedirectURIs", environmentNames: ["GATEHOUSE_UPSTREAM_DIRECT_REDIRECT_URIS"],
        summary: "Redirect URIs allowed for clients that use the upstream client id as their own (default: claude.ai's and loopback callbacks).")
    public static let workOSClientID = Setting(
        name: "workOSClientID", environmentNames: ["WORKOS_CLIENT_ID"],
        summary: "WorkOS client id (client_...), for sign-in through WorkOS User Management.")
    public static let workOSAPIKey = Setting(
        name: "workOSAPIKey", environmentNames: ["WORKOS_API_KEY"],
        summary: "WorkOS API key (sk_...), never logged.")
    public static let workOSOrganizationID = Setting(
        name: "workOSOrganizationID", environmentNames: ["WORKOS_ORGANIZATION_ID"],
        summary: "Send people to this WorkOS organization's SSO instead of AuthKit.")
    public static let workOSConnectionID = Setting(
        name: "workOSConnectionID", environmentNames: ["WORKOS_CONNECTION_ID"],
        summary: "Send people to this WorkOS SSO connection instead of AuthKit.")
    public static let workOSAPIURL = Setting(
        name: "workOSAPIURL", environmentNames: ["GATEHOUSE_WORKOS_API_URL"],
        summary: "WorkOS API host (default https://api.workos.com); WORKOS_BASE_URL is this server's own public URL, as in the seed.")

    /// Every setting of upstream login.
    public static let upstreamLoginSettings: [Setting] = [
        .loginMethod, .upstreamIssuer, .upstreamClientID, .upstreamClientSecret, .upstreamScopes, .upstreamAuthorizeURL,
        .upstreamTokenURL, .upstreamUserInfoURL, .upstreamName, .upstreamRecheck, .upstreamDirectRedirectURIs, .workOSClientID,
        .workOSAPIKey, .workOSOrganizationID, .workOSConnectionID, .workOSAPIURL,
    ]
}
