import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseLogin
import GatehousePostgres
import Logging

/// `gatehouse doctor --config`: this Gatehouse's own settings, checked from the inside: the
/// public base URL against what a running server publishes, the provider (AuthKit domain, JWT
/// issuer), the upstream sign-in provider's credentials, the secret key, the store (the SQLite
/// file, or a connection to PostgreSQL, changing nothing), the audit log and the metrics listener.
public struct ConfigurationDiagnosis: Sendable {
    static let step = "configuration"

    let configuration: GatehouseConfiguration
    let logger: Logger
    let http: ProbeHTTP
    let loadTLS: (@Sendable (TLSSettings) throws -> Void)?

    /// - Parameter loadTLS: reads the TLS certificate and key as the server would (the server's
    ///   loader, which this module does not link); a thrown error's description is the finding.
    public init(configuration: GatehouseConfiguration, logger: Logger, loadTLS: (@Sendable (TLSSettings) throws -> Void)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.loadTLS = loadTLS
        http = ProbeHTTP(timeout: .seconds(5))
    }

    public func run() async -> [Finding] {
        var log = ProbeLog()
        checkBaseURL(&log)
        await checkRunningServer(&log)
        await checkProvider(&log)
        await checkUpstreamLogin(&log)
        checkSecrets(&log)
        if let postgres = configuration.postgres {
            await checkPostgres(postgres, &log)
        } else {
            checkDatabase(&log)
        }
        checkOperations(&log)
        if !log.findings.contains(where: { $0.severity != .info }) {
            log.add("config.ok", .info, "nothing wrong found in this configuration", step: Self.step)
        }
        return log.findings
    }

    private func checkBaseURL(_ log: inout ProbeLog) {
        let base = configuration.baseURL().description
        if configuration.explicitBaseURL == nil, !configuration.isBoundToLoopback {
            log.add(
                "config.base_url_default", .warning,
                "no public base URL is set and the server listens on \(configuration.host): clients are told \(base), which is rarely how they reach it",
                fix: "set HUB_BASE_URL (GATEHOUSE_BASE_URL) to the https URL clients use, e.g. https://mcp.example.com", step: Self.step)
        }
        if base.isPlainHTTPOffLoopback {
            log.add(
                "config.base_url_http", .error, "the public base URL \(base) is plain http: clients refuse OAuth over http except on loopback",
                fix: "use the https URL of the proxy or tunnel in front of the server", step: Self.step)
        }
    }

    /// A running server at the base URL must publish this configuration's resource.
    private func checkRunningServer(_ log: inout ProbeLog) async {
        let resource = configuration.resourceURL
        let metadataURL = configuration.baseURL().origin + "/.well-known/oauth-protected-resource" + configuration.baseURL().pathPrefix
            + configuration.mcpPath
        guard configuration.auth.isEnabled else { return }
        guard let answer = await http.get(metadataURL) else {
            log.add(
                "config.server_not_reachable", .info,
                "nothing answers at \(metadataURL) from here; start the server to check the base URL end to end (gatehouse doctor \(resource))",
                step: Self.step)
            return
        }
        let published = answer.json?["resource"]?.stringValue
        guard answer.status == 200, let published else {
            log.add(
                "config.base_url_mismatch", .error,
                "\(metadataURL) answered \(answer.status) without protected-resource metadata: the base URL does not lead to this server",
                fix: "check HUB_BASE_URL and the proxy's routes (the well-known path must reach Gatehouse)", step: Self.step,
                evidence: ["url": metadataURL, "status": "\(answer.status)"])
            return
        }
        if published != resource {
            log.add(
                "config.base_url_mismatch", .error, "the server at the base URL publishes resource \(published), this configuration \(resource)",
                fix: "run the server with the same HUB_BASE_URL and GATEHOUSE_MCP_PATH as this check", step: Self.step,
                evidence: ["url": metadataURL, "resource": published])
        }
    }

    private func checkProvider(_ log: inout ProbeLog) async {
        let issuer: String
        switch configuration.auth.provider {
        case .authKit(let domain): issuer = domain
        case .jwt(let jwtIssuer, nil): issuer = jwtIssuer
        case .staticTokens where !configuration.isBoundToLoopback:
            log.add(
                "config.static_tokens", .warning, "static development tokens are accepted by a server that listens on \(configuration.host)",
                fix: "use a real provider before exposing the server", step: Self.step)
            return
        default: return
        }
        do {
            _ = try await ProviderMetadata(issuer: issuer, fetcher: http.client, logger: logger).validate()
        } catch {
            log.add(
                "config.provider_unreachable", .error, "the provider \(issuer) cannot be used: \(error)",
                fix: "check the domain or issuer exactly as the provider shows it (AuthKit: Authentication → AuthKit)", step: Self.step,
                evidence: ["issuer": issuer])
        }
    }

    private func checkUpstreamLogin(_ log: inout ProbeLog) async {
        guard let upstream = configuration.upstreamLogin else { return }
        let provider = UpstreamProviders.make(upstream, fetcher: http.client, logger: logger)
        for problem in await provider.startupProblems() {
            log.add(
                "config.upstream_provider", .error, problem,
                fix: "check the upstream sign-in settings (docs/upstream-login.md)", step: Self.step)
        }
        log.add(
            "config.upstream_redirect_uri", .info,
            "register \(configuration.baseURL().url(for: "/auth/callback")) as a redirect URI of client \(upstream.clientID) at \(upstream.displayName)",
            step: Self.step)
    }

    private func checkSecrets(_ log: inout ProbeLog) {
        guard configuration.hub.secretKey == nil else { return }
        log.add(
            "config.no_secret_key", .info,
            "GATEHOUSE_SECRET_KEY is not set: secret fields of users' tools are refused, and the signing keys are sealed with \(configuration.sealingKeyFile), which several instances cannot share",
            fix: "set GATEHOUSE_SECRET_KEY to the output of `openssl rand -base64 32` (the same on every instance)", step: Self.step)
    }

    private func checkDatabase(_ log: inout ProbeLog) {
        let path = configuration.databasePath
        let directory = (path as NSString).deletingLastPathComponent
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            if !manager.isWritableFile(atPath: path) {
                log.add(
                    "config.database_not_writable", .error, "\(path) exists but this user cannot write it",
                    fix: "run Gatehouse as the database's owner, or fix its permissions (it should be 0600)", step: Self.step)
            }
        } else if !directory.isEmpty, manager.fileExists(atPath: directory), !manager.isWritableFile(atPath: directory) {
            log.add(
                "config.database_not_writable", .error, "\(directory) is not writable: the database \(path) cannot be created",
                fix: "set --database-path to a writable place, or fix the folder's permissions", step: Self.step)
        }
    }

    private func checkPostgres(_ settings: PostgresSettings, _ log: inout ProbeLog) async {
        do {
            let check = try await PostgresStore.check(settings, logger: logger)
            if !check.pendingMigrations.isEmpty {
                log.add(
                    "config.database_migrations_pending", .info,
                    "\(settings.redactedURL) (PostgreSQL \(check.serverVersion)) lacks \(check.pendingMigrations.count) migration(s): \(check.pendingMigrations.joined(separator: ", "))",
                    fix: "nothing to do: the first instance to start applies them (or run `gatehouse db migrate`)", step: Self.step)
            }
        } catch {
            log.add(
                "config.database_unreachable", .error, "the PostgreSQL store \(settings.redactedURL) cannot be used: \(String(reflecting: error))",
                fix: "check HUB_DATABASE_URL (host, port, user, password, database, sslmode) and that the server accepts connections from here",
                step: Self.step)
        }
    }

    private func checkOperations(_ log: inout ProbeLog) {
        let operations = configuration.operations
        if let tls = configuration.tls, let loadTLS {
            do {
                try loadTLS(tls)
            } catch {
                log.add(
                    "config.tls_unusable", .error, "\(error)",
                    fix: "set GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY to the PEM certificate chain and its unencrypted key", step: Self.step)
            }
        }
        if let path = operations.auditLogPath, path != "-", !Self.canAppend(to: path) {
            log.add(
                "config.audit_log_not_writable", .error, "the audit log \(path) cannot be written by this user",
                fix: "set GATEHOUSE_AUDIT_LOG (--audit-log) to a file this user may create or append to, or - for standard output",
                step: Self.step)
        }
        if operations.metricsPort != nil, !HostName.isLoopback(operations.metricsHost) {
            log.add(
                "config.metrics_public", .warning,
                "the metrics listener binds \(operations.metricsHost): anyone who reaches that port reads the metrics (no authentication)",
                fix: "keep GATEHOUSE_METRICS_HOST on 127.0.0.1, or allow only the Prometheus server to reach the port", step: Self.step)
        }
    }

    /// True when `path` exists and is writable, or can be created in its folder.
    static func canAppend(to path: String) -> Bool {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) { return !isDirectory.boolValue && manager.isWritableFile(atPath: path) }
        let folder = (path as NSString).deletingLastPathComponent
        return manager.isWritableFile(atPath: folder.isEmpty ? "." : folder)
    }
}
