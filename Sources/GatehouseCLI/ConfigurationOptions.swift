import ArgumentParser
import Foundation
import GatehouseCore

/// The options every serving command shares, and how they become a ``GatehouseConfiguration``.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Interface to listen on. [env: GATEHOUSE_HOST, HUB_HOST; default: 127.0.0.1]")
    var host: String?

    @Option(help: "TCP port to listen on; 0 picks a free one. [env: GATEHOUSE_PORT, HUB_PORT; default: 8884]")
    var port: String?

    @Option(help: "Public base URL clients use, e.g. https://mcp.example.com. [env: GATEHOUSE_BASE_URL, HUB_BASE_URL]")
    var baseURL: String?

    @Option(help: "Path of the MCP endpoint, e.g. /mcp or /api/mcp. [env: GATEHOUSE_MCP_PATH; default: /mcp]")
    var mcpPath: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. [env: GATEHOUSE_LOG_LEVEL, LOG_LEVEL; default: info]")
    var logLevel: String?

    @Option(help: "Comma-separated browser origins allowed to call the server, or *. [env: GATEHOUSE_ALLOWED_ORIGINS]")
    var allowedOrigins: String?

    @Option(
        help: "Token provider: embedded, authkit, jwt, introspection, static or none. [env: MCP_PROVIDER_TYPE; default: inferred, else embedded]")
    var provider: String?

    @Option(help: "AuthKit domain, e.g. https://your-project-12345.authkit.app. [env: WORKOS_AUTHKIT_DOMAIN]")
    var authkitDomain: String?

    @Option(help: "Issuer (iss) of accepted JWT access tokens. [env: MCP_JWT_ISSUER]")
    var jwtIssuer: String?

    @Option(help: "JWKS URL of the issuer (default: discovered from its metadata). [env: MCP_JWT_JWKS_URI]")
    var jwtJwksUri: String?

    @Option(help: "Comma-separated accepted token audiences (default: the MCP endpoint URL). [env: MCP_JWT_AUDIENCE]")
    var jwtAudience: String?

    @Option(help: "Comma-separated scopes every request needs. [env: MCP_REQUIRED_SCOPES]")
    var requiredScopes: String?

    @Flag(help: "Start without fetching the provider's metadata first. [env: GATEHOUSE_LAZY_PROVIDER]")
    var lazyProvider = false

    @Flag(help: "Build public URLs from X-Forwarded-Proto/Host when no base URL is set. [env: GATEHOUSE_TRUST_FORWARDED_HEADERS]")
    var trustForwardedHeaders = false

    @Option(help: "SQLite database of the store. [env: GATEHOUSE_DATABASE_PATH, HUB_DATABASE_PATH; default: hub_data/hub.db]")
    var databasePath: String?

    @Option(help: "PostgreSQL store instead of SQLite: postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…. [env: HUB_DATABASE_URL, GATEHOUSE_DATABASE_URL]")
    var databaseURL: String?

    @Option(
        name: .customLong("resource"),
        help: "An MCP server URL the embedded authorization server issues tokens for; repeatable. [env: GATEHOUSE_IDP_RESOURCES]")
    var resources: [String] = []

    @Option(help: "Comma-separated scopes a standalone `gatehouse idp` offers. [env: GATEHOUSE_IDP_SCOPES]")
    var scopes: String?

    @Flag(help: "Sign every authorization in as the dev user, without a sign-in page (loopback only). [env: GATEHOUSE_DEV_AUTO_APPROVE]")
    var devAutoApprove = false

    @Option(
        help: "How people sign in to the embedded authorization server: password, oidc, oauth2 or workos. [env: GATEHOUSE_LOGIN; default: inferred, else password]")
    var login: String?

    @Option(help: "Issuer of the OpenID Connect provider people sign in with. [env: GATEHOUSE_UPSTREAM_ISSUER]")
    var upstreamIssuer: String?

    @Option(help: "Client id Gatehouse has at the upstream provider (its secret: GATEHOUSE_UPSTREAM_CLIENT_SECRET). [env: GATEHOUSE_UPSTREAM_CLIENT_ID]")
    var upstreamClientId: String?

    @Option(help: "Scopes asked of the upstream provider. [env: GATEHOUSE_UPSTREAM_SCOPES; default: openid email profile]")
    var upstreamScopes: String?

    @Option(help: "Serve HTTPS with this PEM certificate chain (with --tls-key). [env: GATEHOUSE_TLS_CERT]")
    var tlsCert: String?

    @Option(help: "The PEM private key of --tls-cert. [env: GATEHOUSE_TLS_KEY]")
    var tlsKey: String?

    @Option(help: "Serve Prometheus metrics on this port, on 127.0.0.1 unless GATEHOUSE_METRICS_HOST says otherwise. [env: GATEHOUSE_METRICS_PORT]")
    var metricsPort: String?

    @Option(help: "Append security events as JSON lines to this file, or - for standard output. [env: GATEHOUSE_AUDIT_LOG]")
    var auditLog: String?

    @Option(help: "Requests one user may make to the MCP endpoint, e.g. 600/min. [env: GATEHOUSE_RATE_LIMIT_USER]")
    var rateLimitUser: String?

    @Option(help: "Requests all users of one OAuth client may make together, e.g. 6000/min. [env: GATEHOUSE_RATE_LIMIT_CLIENT]")
    var rateLimitClient: String?

    @Option(help: "Calls of a tool one user may make, e.g. http_fetch=30/min,notes_add=100/hour. [env: GATEHOUSE_RATE_LIMIT_TOOLS]")
    var rateLimitTools: String?

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp(
            "Set a setting as KEY=VALUE, e.g. --env HUB_PORT=9000; repeatable. Beats the environment and the .env file.",
            valueName: "KEY=VALUE"))
    var envOverrides: [String] = []

    @Option(help: "Read settings from this file of KEY=VALUE lines. [default: .env in the working directory, if present]")
    var envFile: String?

    /// Reads every layer (flags, `--env`, the environment, the `.env` file) and resolves the configuration.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> (GatehouseConfiguration, warnings: [String]) {
        var flags: [String: String] = [:]
        let given: [(Setting, String?)] = [
            (.host, host), (.port, port), (.baseURL, baseURL), (.mcpPath, mcpPath), (.logLevel, logLevel),
            (.allowedOrigins, allowedOrigins), (.providerType, provider), (.authKitDomain, authkitDomain),
            (.jwtIssuer, jwtIssuer), (.jwtJWKSURI, jwtJwksUri), (.jwtAudience, jwtAudience), (.requiredScopes, requiredScopes),
            (.lazyProvider, lazyProvider ? "true" : nil), (.trustForwardedHeaders, trustForwardedHeaders ? "true" : nil),
            (.databasePath, databasePath), (.databaseURL, databaseURL), (.devAutoApprove, devAutoApprove ? "true" : nil),
            (.extraResources, resources.isEmpty ? nil : resources.joined(separator: ",")), (.idpScopes, scopes),
            (.loginMethod, login), (.upstreamIssuer, upstreamIssuer), (.upstreamClientID, upstreamClientId),
            (.upstreamScopes, upstreamScopes), (.metricsPort, metricsPort), (.auditLog, auditLog),
            (.tlsCertificate, tlsCert), (.tlsPrivateKey, tlsKey),
            (.rateLimitPerUser, rateLimitUser), (.rateLimitPerClient, rateLimitClient), (.rateLimitPerTool, rateLimitTools),
        ]
        for case let (setting, value?) in given { flags[setting.name] = value }

        var overrides: [String: String] = [:]
        for pair in envOverrides {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ConfigurationError(key: "--env \(pair.prefix(40))", layer: nil, problem: "expected KEY=VALUE, e.g. --env HUB_PORT=9000")
            }
            overrides[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        let sources = ConfigurationSources(
            flags: flags, envOverrides: overrides, environment: environment, dotEnv: try readDotEnv(envFile))
        return try GatehouseConfiguration.load(from: sources)
    }
}

/// The settings of the `.env` file: `envFile` when given (it must exist), else `./.env` if present.
func readDotEnv(_ envFile: String?) throws(ConfigurationError) -> [String: String] {
    let path = envFile ?? ".env"
    guard let data = FileManager.default.contents(atPath: path) else {
        if envFile == nil { return [:] }
        throw ConfigurationError(key: "--env-file", layer: .flag, problem: "cannot read \(path)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw ConfigurationError(key: "--env-file", layer: .flag, problem: "\(path) is not UTF-8 text")
    }
    return try DotEnvParser.parse(text, fileName: path)
}
