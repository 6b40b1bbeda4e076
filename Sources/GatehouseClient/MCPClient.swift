import Foundation
import GatehouseCore
import GatehouseEgress
import NIOHTTP1

/// An MCP client over Streamable HTTP that signs in when the server asks.
///
/// It speaks the stateless 2026-07-28 protocol when the server offers it (`server/discover`),
/// else opens a 2025-11-25 session with `initialize`. Signing in, refreshing and stepping up are
/// the ``AuthorizedTransport``'s.
public actor MCPClient {
    public let serverURL: String
    let http: EgressClient
    let transport: AuthorizedTransport
    /// The negotiated protocol revision; `nil` before ``connect()``.
    public private(set) var protocolVersion: String?
    private var sessionID: String?
    private var nextID = 1

    static let statelessVersion = "2026-07-28"
    static let sessionVersion = "2025-11-25"

    /// - Parameter auth: how to sign in; `nil` sends no token.
    public init(serverURL: String, auth: OAuthSession?, http: EgressClient = EgressClient.clientDefault) {
        self.serverURL = serverURL
        self.http = http
        transport = AuthorizedTransport(serverURL: serverURL, auth: auth, http: http)
    }

    /// A client that sends `tokens`' access token and never signs in itself.
    public init(serverURL: String, tokens: any AccessTokenSource, http: EgressClient = EgressClient.clientDefault) {
        self.serverURL = serverURL
        self.http = http
        transport = AuthorizedTransport(serverURL: serverURL, auth: nil, source: tokens, http: http)
    }

    /// Negotiates the protocol: stateless 2026-07-28 when offered, else a 2025-11-25 session.
    public func connect() async throws(ClientError) {
        protocolVersion = Self.statelessVersion
        if case .success(let result) = try await exchange("server/discover", params: [:]),
            result.objectValue?["supportedVersions"]?.arrayValue?.contains(.string(Self.statelessVersion)) ?? true
        {
            return
        }
        protocolVersion = nil
        let initialize: JSONValue = [
            "protocolVersion": .string(Self.sessionVersion), "capabilities": [:],
            "clientInfo": ["name": "gatehouse", "version": .string(Gatehouse.version)],
        ]
        let result = try await request("initialize", params: initialize.objectValue ?? [:])
        guard let version = result.objectValue?["protocolVersion"]?.stringValue else {
            throw ClientError("\(serverURL) answered initialize without a protocolVersion")
        }
        protocolVersion = version
        _ = try await send(["jsonrpc": "2.0", "method": "notifications/initialized"], method: "notifications/initialized", name: nil)
    }

    /// `tools/list`, every page.
    public func listTools() async throws(ClientError) -> [JSONValue] {
        var tools: [JSONValue] = []
        var cursor: JSONValue?
        repeat {
            let result = try await request("tools/list", params: cursor.map { ["cursor": $0] } ?? [:])
            tools += result.objectValue?["tools"]?.arrayValue ?? []
            cursor = result.objectValue?["nextCursor"]
        } while cursor != nil && cursor != .null && tools.count < 10_000
        return tools
    }

    /// `tools/call`; the result object (a tool error is a result with `isError`).
    public func callTool(_ name: String, arguments: [String: JSONValue]) async throws(ClientError) -> [String: JSONValue] {
        let result = try await request("tools/call", params: ["name": .string(name), "arguments": .object(arguments)], name: name)
        guard case .object(let object) = result else { throw ClientError("\(serverURL) answered tools/call with a non-object result") }
        return object
    }

    /// `ping` (sessions) or `server/discover` (stateless), to check the server answers.
    public func ping() async throws(ClientError) {
        _ = try await request(protocolVersion == Self.statelessVersion ? "server/discover" : "ping", params: [:])
    }

    /// Ends a session-era session (`DELETE`); nothing for stateless servers.
    public func close() async {
        guard let sessionID else { return }
        let authorization = (try? await transport.authorizationHeader()) ?? []
        _ = try? await http.exchange(serverURL, method: .DELETE, headers: [("Mcp-Session-Id", sessionID)] + authorization)
        self.sessionID = nil
    }

    /// The server's `WWW-Authenticate` challenge to an unauthenticated request, or `nil`
    /// when it answers without one (no sign-in needed).
    public func unauthenticatedChallenge() async throws(ClientError) -> BearerChallengeParameters? {
        let body = Self.body(id: 0, method: "server/discover", params: Self.statelessMeta([:]))
        let response = try await http.exchange(
            serverURL, method: .POST, headers: Self.baseHeaders + [("MCP-Protocol-Version", Self.statelessVersion), ("Mcp-Method", "server/discover")],
            body: body)
        guard response.status == 401 || response.status == 403 else { return nil }
        return response.headers.first(name: "WWW-Authenticate").flatMap(BearerChallengeParameters.init(header:))
            ?? BearerChallengeParameters(header: "Bearer")
    }

    // MARK: Requests

    private enum Outcome {
        case success(JSONValue)
        case failure(code: Int, message: String)
    }

    /// A request whose JSON-RPC error is a ``ClientError``.
    private func request(_ method: String, params: [String: JSONValue], name: String? = nil) async throws(ClientError) -> JSONValue {
        switch try await exchange(method, params: params, name: name) {
        case .success(let result): return result
        case .failure(let code, let message): throw ClientError("\(serverURL) answered \(method) with error \(code): \(message)")
        }
    }

    private func exchange(_ method: String, params: [String: JSONValue], name: String? = nil) async throws(ClientError) -> Outcome {
        let id = nextID
        nextID += 1
        let stateless = protocolVersion == Self.statelessVersion
        let message: JSONValue = [
            "jsonrpc": "2.0", "id": .int(id), "method": .string(method),
            "params": .object(stateless ? Self.statelessMeta(params) : params),
        ]
        let response = try await send(message, method: method, name: name)
        return try Self.outcome(of: response, id: id, method: method, serverURL: serverURL)
    }

    /// POSTs one message with the headers its protocol needs, signing in when challenged.
    private func send(_ message: JSONValue, method: String, name: String?) async throws(ClientError) -> EgressClient.Response {
        var writer = JSONWriter()
        writer.value(message)
        var headers = Self.baseHeaders
        if let protocolVersion { headers.append(("MCP-Protocol-Version", protocolVersion)) }
        if protocolVersion == Self.statelessVersion {
            headers.append(("Mcp-Method", method))
            if let name { headers.append(("Mcp-Name", name)) }
        }
        if let sessionID { headers.append(("Mcp-Session-Id", sessionID)) }
        let response = try await transport.post(Data(writer.bytes), headers: headers)
        if method == "initialize", let session = response.headers.first(name: "Mcp-Session-Id") { sessionID = session }
        return response
    }

    static let baseHeaders = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]

    static func body(id: Int, method: String, params: [String: JSONValue]) -> Data {
        var writer = JSONWriter()
        writer.value(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": .object(params)])
        return Data(writer.bytes)
    }

    /// `params` with the `_meta` a stateless 2026-07-28 request carries.
    static func statelessMeta(_ params: [String: JSONValue]) -> [String: JSONValue] {
        var params = params
        var meta = params["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/protocolVersion"] = .string(statelessVersion)
        meta["io.modelcontextprotocol/clientInfo"] = ["name": "gatehouse", "version": .string(Gatehouse.version)]
        meta["io.modelcontextprotocol/clientCapabilities"] = [:]
        params["_meta"] = .object(meta)
        return params
    }

    /// The JSON-RPC response to `id` in a JSON or SSE body.
    private static func outcome(of response: EgressClient.Response, id: Int, method: String, serverURL: String) throws(ClientError) -> Outcome {
        if response.status == 401 || response.status == 403 {
            throw ClientError("\(serverURL) refused \(method) with HTTP \(response.status) even after signing in; check the account's access")
        }
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        let messages: [JSONValue]
        if contentType.hasPrefix("text/event-stream") {
            var decoder = SSEDecoder()
            // The body is complete: a final blank line ends an event left open.
            let events = (try? decoder.feed(response.body + Data("\n\n".utf8))) ?? []
            messages = events.compactMap { try? JSONValue.parse($0.data) }
        } else if let message = try? JSONValue.parse(response.body) {
            messages = message.arrayValue ?? [message]
        } else {
            messages = []
        }
        // A server that does not know a method may answer with a bare HTTP error: that is a
        // failed request (the caller may fall back), not a broken connection.
        guard let reply = messages.first(where: { $0.objectValue?["id"] == .int(id) }) ?? messages.first(where: { $0.objectValue?["error"] != nil }),
            case .object(let fields) = reply
        else {
            return .failure(code: -1, message: "HTTP \(response.status) without a JSON-RPC response: \(response.text.prefix(200))")
        }
        if case .object(let error)? = fields["error"] {
            let code: Int = switch error["code"] {
            case .int(let value)?: value
            case .double(let value)?: Int(value)
            default: 0
            }
            return .failure(code: code, message: error["message"]?.stringValue ?? "no message")
        }
        return .success(fields["result"] ?? .null)
    }
}
