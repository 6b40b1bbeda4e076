import Foundation
import GatehouseCore

/// The gateway's configuration file (`--config gateway.json`): several upstreams with their
/// protocol, identity, timeout and access rules. Documented in docs/gateway.md.
///
/// ```json
/// {"upstreams": [
///   {"name": "docs", "url": "https://docs.internal/mcp", "identity": {"type": "jwt"},
///    "scopes": ["docs:read"], "tools": {"delete_page": {"scopes": ["docs:admin"]}}},
///   {"name": "files", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]}
/// ]}
/// ```
///
/// Unknown keys are refused (a misspelt `scopes` must not silently open a tool to everyone).
/// Secrets are never in the file: a static credential names the environment variable holding it.
public enum GatewayConfigurationFile {
    /// Reads the upstreams of the file at `path`; `environment` resolves static credentials.
    public static func load(path: String, environment: [String: String]) throws(GatewayConfigurationError) -> [UpstreamSpec] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GatewayConfigurationError("cannot read the gateway configuration \(path): \(error.localizedDescription)")
        }
        return try parse(data, source: path, environment: environment)
    }

    static func parse(_ data: Data, source: String, environment: [String: String]) throws(GatewayConfigurationError) -> [UpstreamSpec] {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch {
            throw GatewayConfigurationError("\(source) is not valid JSON: \(error)")
        }
        let top = try Fields(root, at: source, allowed: ["upstreams"])
        guard case .array(let items)? = top.object["upstreams"], !items.isEmpty else {
            throw GatewayConfigurationError("\(source): \"upstreams\" must be a non-empty array of upstream objects")
        }
        var specs: [UpstreamSpec] = []
        for (index, item) in items.enumerated() {
            specs.append(try upstream(item, at: "\(source): upstreams[\(index)]", environment: environment))
        }
        return specs
    }

    private static func upstream(_ value: JSONValue, at path: String, environment: [String: String]) throws(GatewayConfigurationError) -> UpstreamSpec {
        let fields = try Fields(
            value, at: path,
            allowed: [
                "name", "url", "transport", "command", "args", "env", "cwd", "protocol", "transparent", "timeout_seconds", "identity", "scopes",
                "users", "organizations", "tools",
            ])
        let name = try fields.string("name") ?? ""
        let at = "\(path) (\(name))"
        let transport: UpstreamSpec.Transport
        switch (try fields.string("url"), try fields.string("command")) {
        case (let url?, nil):
            let checked = try UpstreamSpec.checkedURL(url, upstream: name)
            switch try fields.string("transport") ?? "streamable-http" {
            case "streamable-http": transport = .streamableHTTP(url: checked)
            case "sse": transport = .legacySSE(url: checked)
            default: throw GatewayConfigurationError("\(at): \"transport\" must be \"streamable-http\" (the default) or \"sse\" (2024-11-05)")
            }
        case (nil, let command?):
            transport = .stdio(
                StdioCommand(
                    executable: command, arguments: try fields.strings("args") ?? [], environment: try fields.stringMap("env") ?? [:],
                    workingDirectory: try fields.string("cwd")))
        default:
            throw GatewayConfigurationError("\(at): give either \"url\" (Streamable HTTP) or \"command\" (stdio), not both or neither")
        }
        var spec = UpstreamSpec(name: name, transport: transport)
        if let choice = try fields.string("protocol") {
            guard let parsed = UpstreamSpec.ProtocolChoice(rawValue: choice) else {
                throw GatewayConfigurationError("\(at): \"protocol\" must be \"auto\", \"session\" or \"stateless\"")
            }
            spec.protocolChoice = parsed
        }
        spec.transparent = try fields.bool("transparent") ?? false
        if let seconds = try fields.int("timeout_seconds") { spec.timeout = .seconds(seconds) }
        if let identity = fields.object["identity"] { spec.identity = try self.identity(identity, at: "\(at).identity", environment: environment) }
        spec.access = try rule(fields, at: at)
        if let tools = fields.object["tools"] {
            guard case .object(let byName) = tools else { throw GatewayConfigurationError("\(at): \"tools\" must map tool names to rules") }
            for (tool, value) in byName {
                spec.toolAccess[tool] = try rule(try Fields(value, at: "\(at).tools.\(tool)", allowed: ["scopes", "users", "organizations"]), at: "\(at).tools.\(tool)")
            }
        }
        try spec.validate()
        return spec
    }

    private static func rule(_ fields: Fields, at path: String) throws(GatewayConfigurationError) -> AccessRule {
        AccessRule(
            requiredScopes: Set(try fields.strings("scopes") ?? []), users: Set(try fields.strings("users") ?? []),
            organizations: Set(try fields.strings("organizations") ?? []))
    }

    private static func identity(_ value: JSONValue, at path: String, environment: [String: String]) throws(GatewayConfigurationError) -> UpstreamIdentity {
        let fields = try Fields(
            value, at: path,
            allowed: ["type", "audience", "lifetime_seconds", "header", "env", "token_endpoint", "client_id", "client_secret_env", "resource", "scope"])
        switch try fields.string("type") {
        case "none"?:
            return .none
        case "jwt"?:
            let lifetime = try fields.int("lifetime_seconds") ?? 300
            guard (30...3600).contains(lifetime) else { throw GatewayConfigurationError("\(path): \"lifetime_seconds\" must be 30 to 3600") }
            return .mintedToken(audience: try fields.string("audience"), lifetime: .seconds(lifetime))
        case "static"?:
            guard let variable = try fields.string("env") else {
                throw GatewayConfigurationError("\(path): a static credential names the environment variable that holds it: \"env\": \"DOCS_TOKEN\"")
            }
            guard let value = environment[variable], !value.isEmpty else {
                throw GatewayConfigurationError("\(path): the environment variable \(variable) is not set")
            }
            return .staticCredential(header: try fields.string("header") ?? "Authorization", value: value)
        case "headers"?:
            return .identityHeaders
        case "exchange"?:
            return .tokenExchange(try exchange(fields, at: path, environment: environment))
        default:
            throw GatewayConfigurationError("\(path): \"type\" must be \"none\", \"jwt\", \"exchange\", \"static\" or \"headers\"")
        }
    }
}

extension GatewayConfigurationFile {
    /// RFC 8693 settings: the provider's token endpoint (https, or http on loopback), the gateway's
    /// client there, its secret from the environment.
    fileprivate static func exchange(_ fields: Fields, at path: String, environment: [String: String]) throws(GatewayConfigurationError) -> TokenExchangeSettings {
        guard let endpoint = try fields.string("token_endpoint"), let clientID = try fields.string("client_id"),
            let secretVariable = try fields.string("client_secret_env")
        else {
            throw GatewayConfigurationError("\(path): an exchange needs \"token_endpoint\", \"client_id\" and \"client_secret_env\" (the variable holding the client secret)")
        }
        guard let url = URLComponents(string: endpoint), let host = url.host,
            url.scheme == "https" || (url.scheme == "http" && HostName.isLoopback(host))
        else {
            throw GatewayConfigurationError("\(path): \"token_endpoint\" must be an https URL (http only on loopback)")
        }
        guard let secret = environment[secretVariable], !secret.isEmpty else {
            throw GatewayConfigurationError("\(path): the environment variable \(secretVariable) is not set")
        }
        return TokenExchangeSettings(
            tokenEndpoint: endpoint, clientID: clientID, clientSecret: secret, audience: try fields.string("audience"),
            resource: try fields.string("resource"), scope: try fields.string("scope"))
    }
}

/// The members of one JSON object of the file, with typed reads that name the bad key.
private struct Fields {
    let object: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, at path: String, allowed: Set<String>) throws(GatewayConfigurationError) {
        guard case .object(let object) = value else { throw GatewayConfigurationError("\(path) must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw GatewayConfigurationError("\(path): unknown key \"\(unknown)\"; known keys are \(allowed.sorted().joined(separator: ", "))")
        }
        self.object = object
        self.path = path
    }

    func string(_ key: String) throws(GatewayConfigurationError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw GatewayConfigurationError("\(path): \"\(key)\" must be a string")
        }
    }

    func bool(_ key: String) throws(GatewayConfigurationError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw GatewayConfigurationError("\(path): \"\(key)\" must be true or false")
        }
    }

    func int(_ key: String) throws(GatewayConfigurationError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case .int(let value)?: return value
        default: throw GatewayConfigurationError("\(path): \"\(key)\" must be a whole number")
        }
    }

    func strings(_ key: String) throws(GatewayConfigurationError) -> [String]? {
        switch object[key] {
        case nil, .null?: return nil
        case .array(let values)?:
            var strings: [String] = []
            for value in values {
                guard case .string(let string) = value else { throw GatewayConfigurationError("\(path): \"\(key)\" must be an array of strings") }
                strings.append(string)
            }
            return strings
        default: throw GatewayConfigurationError("\(path): \"\(key)\" must be an array of strings")
        }
    }

    func stringMap(_ key: String) throws(GatewayConfigurationError) -> [String: String]? {
        switch object[key] {
        case nil, .null?: return nil
        case .object(let values)?:
            var map: [String: String] = [:]
            for (name, value) in values {
                guard case .string(let string) = value else { throw GatewayConfigurationError("\(path): \"\(key)\" must map names to strings") }
                map[name] = string
            }
            return map
        default: throw GatewayConfigurationError("\(path): \"\(key)\" must map names to strings")
        }
    }
}
