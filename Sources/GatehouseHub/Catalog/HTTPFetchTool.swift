import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseMCP

extension ToolKind {
    /// `http_fetch`: GET requests to the hosts the user allowed, optionally with a secret
    /// `Authorization` header (encrypted at rest).
    ///
    /// Only https (http on loopback when private addresses are allowed), no redirects, a
    /// 5-second deadline and a size cap. Every host must resolve to public addresses unless the
    /// operator sets `GATEHOUSE_FETCH_ALLOW_PRIVATE`, so users cannot reach the server's own
    /// network through it.
    public static func httpFetch(allowPrivateAddresses: Bool) -> ToolKind {
        ToolKind(
            name: "http_fetch",
            description: "Fetches web pages and APIs from the hosts you allow, optionally with your own Authorization header.",
            configurationSchema: [
                "type": "object", "required": ["allowed_hosts"], "additionalProperties": false,
                "properties": [
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
                ],
            ],
            secretFields: ["authorization"],
            toolNames: ["http_fetch"]
        ) { activation in
            let hosts = Set((activation.configuration["allowed_hosts"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() })
            let authorization = activation.configuration["authorization"]?.stringValue
            let fetcher = EgressClient(timeout: .seconds(5), maxBytes: activation.integer("max_bytes", default: 65_536))
            return [
                MCPTool(
                    name: "http_fetch", description: "GETs a URL on one of your allowed hosts: \(hosts.sorted().joined(separator: ", ")).",
                    inputSchema: [
                        "type": "object", "required": ["url"], "additionalProperties": false,
                        "properties": ["url": ["type": "string", "minLength": 8, "maxLength": 2048]],
                    ],
                    annotations: .init(readOnlyHint: true, openWorldHint: true)
                ) { arguments, _ in
                    let url = try arguments.string("url")
                    guard let components = URLComponents(string: url), let host = components.host?.lowercased(),
                        components.scheme?.lowercased() == "https" || (allowPrivateAddresses && components.scheme?.lowercased() == "http")
                    else { throw ToolError("\(url.prefix(100)) is not an https URL") }
                    let hostAndPort = components.port.map { "\(host):\($0)" } ?? host
                    guard hosts.contains(host) || hosts.contains(hostAndPort) else {
                        throw ToolError("\(hostAndPort) is not one of your allowed hosts (\(hosts.sorted().joined(separator: ", "))); add it with configure_tool")
                    }
                    if !allowPrivateAddresses, let refusal = await AddressPolicy.refusal(forHost: host) {
                        throw ToolError(refusal)
                    }
                    let response: EgressClient.Response
                    do {
                        response = try await fetcher.send(url, headers: authorization.map { [("Authorization", $0)] } ?? [])
                    } catch {
                        throw ToolError("\(error)")
                    }
                    let body = String(decoding: response.body, as: UTF8.self)
                    return .structured(["status": .int(response.status), "body": .string(body)], text: "HTTP \(response.status)\n\(body)")
                },
            ]
        }
    }
}
