/// One configurable setting: its canonical name, its command-line flag and the
/// environment variable names it answers to.
///
/// Gatehouse reads its own `GATEHOUSE_*` names and the names users already have
/// from the seed guides (`HUB_PORT`, `HUB_BASE_URL`, …). When several names of one
/// setting are set in the same layer, the first name in ``environmentNames`` wins.
public struct Setting: Sendable, Hashable, CustomStringConvertible {
    /// The canonical name, used as the key of ``ConfigurationSources/flags``.
    public let name: String
    /// The long command-line flag without dashes, when the setting has one.
    public let flag: String?
    /// Environment variable names, most specific first.
    public let environmentNames: [String]
    /// One line for `--help` and `docs/configuration.md`.
    public let summary: String

    public init(name: String, flag: String? = nil, environmentNames: [String], summary: String) {
        self.name = name
        self.flag = flag
        self.environmentNames = environmentNames
        self.summary = summary
    }

    /// The name users see in error messages: the first environment name.
    public var description: String { environmentNames.first ?? name }
}

extension Setting {
    public static let host = Setting(
        name: "host", flag: "host", environmentNames: ["GATEHOUSE_HOST", "HUB_HOST"],
        summary: "Interface to listen on (default 127.0.0.1).")
    public static let port = Setting(
        name: "port", flag: "port", environmentNames: ["GATEHOUSE_PORT", "HUB_PORT"],
        summary: "TCP port to listen on (default 8884; 0 picks a free port).")
    public static let baseURL = Setting(
        name: "baseURL", flag: "base-url", environmentNames: ["GATEHOUSE_BASE_URL", "HUB_BASE_URL", "WORKOS_BASE_URL"],
        summary: "Public base URL clients use, e.g. https://mcp.example.com (default http://HOST:PORT).")
    public static let mcpPath = Setting(
        name: "mcpPath", flag: "mcp-path", environmentNames: ["GATEHOUSE_MCP_PATH"],
        summary: "Path of the MCP endpoint (default /mcp).")
    public static let logLevel = Setting(
        name: "logLevel", flag: "log-level", environmentNames: ["GATEHOUSE_LOG_LEVEL", "LOG_LEVEL"],
        summary: "trace, debug, info, notice, warning, error or critical (default info).")
    public static let allowedOrigins = Setting(
        name: "allowedOrigins", flag: "allowed-origins", environmentNames: ["GATEHOUSE_ALLOWED_ORIGINS"],
        summary: "Comma-separated browser origins allowed to call the server, or * for any.")
    public static let maxBodyBytes = Setting(
        name: "maxBodyBytes", environmentNames: ["GATEHOUSE_MAX_BODY_BYTES"],
        summary: "Largest request body accepted, in bytes (default 1048576).")
    public static let sessionIdleTimeout = Setting(
        name: "sessionIdleTimeout",
        environmentNames: ["GATEHOUSE_SESSION_IDLE_TIMEOUT"],
        summary: "Seconds an idle MCP session is kept (default 3600).")
    public static let maxSessions = Setting(
        name: "maxSessions", environmentNames: ["GATEHOUSE_MAX_SESSIONS"],
        summary: "Most concurrent MCP sessions; the least recently used is evicted (default 10000).")

    /// Every setting this version of Gatehouse acts on.
    public static let all: [Setting] = [
        .host, .port, .baseURL, .mcpPath, .logLevel, .allowedOrigins, .maxBodyBytes,
        .sessionIdleTimeout, .maxSessions,
    ]
}
