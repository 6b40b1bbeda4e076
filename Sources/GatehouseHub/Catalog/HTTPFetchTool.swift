import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseMCP

extension ToolKind {
    /// `http_fetch`: GET requests to the hosts the user allowed, optionally with a secret
    /// `Authorization` header (encrypted at rest), or with the user's token for one of their
    /// connected accounts (`account`), sent to that provider's API hosts only; the scopes the
    /// fetches need (`account_scopes`) are asked of the user when their account lacks them.
    ///
    /// Only https (http on loopback when private addresses are allowed), no redirects, a
    /// 5-second deadline and a size cap. Every host must resolve to public addresses unless the
    /// operator sets `GATEHOUSE_FETCH_ALLOW_PRIVATE`, so users cannot reach the server's own
    /// network through it.
    ///
    /// - Parameter accounts: the accounts users may connect; `nil` offers no `account` setting.
    public static func httpFetch(allowPrivateAddresses: Bool, accounts: AccountAccess? = nil) -> ToolKind {
        var properties: [String: JSONValue] = [
            "allowed_hosts": [
                "type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": true,
                "items": ["type": "string", "pattern": "^[A-Za-z0-9.-]+(:[0-9]+)?$", "maxLength": 253],
                "description": "Host names the tool may fetch from, e.g. api.github.com.",
            ],
            "authorization": [
                "type": "string", "minLength": 1, "maxLength": 4096,
                "description": "Sent as the Authorization header (secret: encrypted, never shown).",
            ],
            "max_bytes": ["type": "integer", "minimum": 1024, "maximum": 1_048_576, "description": "Largest response (default 65536)."],
        ]
        var description = "Fetches web pages and APIs from the hosts you allow, optionally with your own Authorization header."
        var schema: [String: JSONValue] = ["type": "object", "required": ["allowed_hosts"], "additionalProperties": false]
        if let accounts {
            let names = accounts.providers.all.map(\.name)
            description =
                "Fetches web pages and APIs from the hosts you allow, optionally with your own Authorization header or your token for a connected account (\(names.joined(separator: ", ")))."
            properties["account"] = [
                "type": "string", "enum": .array(names.map(JSONValue.string)),
                "description": "Send your token for this connected account (to its API hosts only), instead of an authorization.",
            ]
            properties["account_scopes"] = [
                "type": "array", "maxItems": 20, "uniqueItems": true, "items": ["type": "string", "minLength": 1, "maxLength": 200],
                "description": "Scopes of the account the fetches need; you are asked to grant the missing ones.",
            ]
            // Without allowed_hosts, an account's fetches go to its API hosts.
            schema["required"] = nil
            schema["anyOf"] = [["required": ["allowed_hosts"]], ["required": ["account"]]]
            schema["not"] = ["required": ["account", "authorization"]]
        }
        schema["properties"] = .object(properties)
        return ToolKind(
            name: "http_fetch",
            description: description,
            configurationSchema: .object(schema),
            secretFields: ["authorization"],
            toolNames: ["http_fetch"]
        ) { activation in
            let hosts = Set((activation.configuration["allowed_hosts"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() })
            let authorization = activation.configuration["authorization"]?.stringValue
            let account = activation.configuration["account"]?.stringValue
            let scopes = (activation.configuration["account_scopes"]?.arrayValue ?? []).compactMap(\.stringValue)
            let fetcher = EgressClient(timeout: .seconds(5), maxBytes: activation.integer("max_bytes", default: 65_536))
            // Without allowed_hosts (an account's fetch), the provider's API hosts are the limit.
            let allowed = (hosts.isEmpty ? account.flatMap { accounts?.providers.provider(named: $0)?.apiHosts } ?? [] : hosts.sorted())
                .joined(separator: ", ")
            return [
                MCPTool(
                    name: "http_fetch", description: "GETs a URL on one of your allowed hosts: \(allowed).",
                    inputSchema: [
                        "type": "object", "required": ["url"], "additionalProperties": false,
                        "properties": ["url": ["type": "string", "minLength": 8, "maxLength": 2048]],
                    ],
                    annotations: .init(readOnlyHint: true, openWorldHint: true)
                ) { arguments, _ in
                    if let account, accounts == nil {
                        throw ToolError(
                            "this http_fetch sends your \(account) token, and this hub no longer offers \(account) accounts; configure_tool it with allowed_hosts instead")
                    }
                    let url = try arguments.string("url")
                    guard let components = URLComponents(string: url), let host = components.host?.lowercased(),
                        components.scheme?.lowercased() == "https" || (allowPrivateAddresses && components.scheme?.lowercased() == "http")
                    else { throw ToolError("\(url.prefix(100)) is not an https URL") }
                    let hostAndPort = components.port.map { "\(host):\($0)" } ?? host
                    // Without allowed_hosts only an account's fetch may go on: its provider's API hosts limit it.
                    guard (hosts.isEmpty && account != nil) || hosts.contains(host) || hosts.contains(hostAndPort) else {
                        throw ToolError("\(hostAndPort) is not one of your allowed hosts (\(allowed)); add it with configure_tool")
                    }
                    if !allowPrivateAddresses, let refusal = await AddressPolicy.refusal(forHost: host) {
                        throw ToolError(refusal)
                    }
                    let response: EgressClient.Response
                    if let account, let accounts {
                        // The account's provider decides where its token may go (and so, without
                        // allowed_hosts, where this tool may fetch).
                        response = try await accounts.get(url, userID: activation.userID, account: account, scopes: scopes, http: fetcher)
                    } else {
                        do {
                            response = try await fetcher.send(url, headers: authorization.map { [("Authorization", $0)] } ?? [])
                        } catch {
                            throw ToolError("\(error)")
                        }
                    }
                    let body = String(decoding: response.body, as: UTF8.self)
                    return .structured(["status": .int(response.status), "body": .string(body)], text: "HTTP \(response.status)\n\(body)")
                },
            ]
        }
    }
}
