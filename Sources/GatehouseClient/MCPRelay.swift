import Foundation
import GatehouseCore
import GatehouseEgress
import NIOCore

/// Relays one MCP client's JSON-RPC messages to a remote Streamable HTTP server, as they are,
/// signing in as the server asks (``AuthorizedTransport``).
///
/// The era is the client's: its own `initialize` opens a 2025-era session (the relay keeps the
/// session id and negotiated version for the requests after it), and stateless 2026-07-28
/// requests carry their version in `_meta`, which the relay repeats in the headers. What the
/// server answers (a JSON body, or an SSE stream of notifications, server-to-client requests and
/// the response) is delivered message by message as it arrives, so a server may ask the client
/// something (elicitation, sampling) in the middle of a request and get the answer by POST.
public actor MCPRelay {
    public let serverURL: String
    let transport: AuthorizedTransport
    /// The client for requests whose answers stream: a long deadline, 64 MiB per answer.
    let streaming: EgressClient
    let deliver: @Sendable (JSONValue) async -> Void
    private var sessionID: String?
    private var protocolVersion: String?

    static let metaVersionKey = "io.modelcontextprotocol/protocolVersion"

    /// - Parameters:
    ///   - headers: sent with every request (an API gateway's key, a tenant).
    ///   - requestTimeout: how long one request (a tool call) may take, its stream included.
    ///   - deliver: receives each message for the client, in the order the server sent them.
    public init(
        serverURL: String, auth: OAuthSession?, headers: [(String, String)] = [], requestTimeout: Duration = .seconds(600),
        deliver: @escaping @Sendable (JSONValue) async -> Void
    ) {
        self.serverURL = serverURL
        transport = AuthorizedTransport(serverURL: serverURL, auth: auth, http: .clientDefault, extraHeaders: headers)
        streaming = EgressClient(timeout: requestTimeout, maxBytes: 64 << 20, policy: .anyHTTP)
        self.deliver = deliver
    }

    /// Forwards one message from the client. A request always gets an answer: the server's, or
    /// a JSON-RPC error saying why there is none.
    public func forward(_ message: JSONValue) async {
        let fields = message.objectValue ?? [:]
        let method = fields["method"]?.stringValue
        let id = method == nil ? nil : fields["id"]
        var writer = JSONWriter()
        writer.value(message)
        do {
            let response = try await transport.stream(Data(writer.bytes), headers: headers(for: fields), using: streaming)
            if method == "initialize", let session = response.headers.first(name: "Mcp-Session-Id") { sessionID = session }
            try await relay(response, answering: id, method: method)
        } catch {
            if let id { await deliver(Self.error(id: id, code: -32603, "\(serverURL) could not be reached: \(error)")) }
        }
    }

    /// Ends the session (`DELETE`), if the client opened one.
    public func close() async {
        guard let sessionID else { return }
        let authorization = (try? await transport.authorizationHeader()) ?? []
        _ = try? await EgressClient.clientDefault.send(
            serverURL, method: .DELETE, headers: [("Mcp-Session-Id", sessionID)] + authorization)
        self.sessionID = nil
    }

    /// The transport headers of a message: the stateless ones from its `_meta`, else the session's.
    private func headers(for fields: [String: JSONValue]) -> [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        let params = fields["params"]?.objectValue
        if let version = params?["_meta"]?.objectValue?[Self.metaVersionKey]?.stringValue {
            headers.append(("MCP-Protocol-Version", version))
            if let method = fields["method"]?.stringValue {
                headers.append(("Mcp-Method", method))
                if let name = params?["name"]?.stringValue ?? params?["uri"]?.stringValue { headers.append(("Mcp-Name", name)) }
            }
            return headers
        }
        if let protocolVersion { headers.append(("MCP-Protocol-Version", protocolVersion)) }
        if let sessionID { headers.append(("Mcp-Session-Id", sessionID)) }
        return headers
    }

    private func relay(_ response: EgressClient.Stream, answering id: JSONValue?, method: String?) async throws {
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        var answered = false
        if contentType.hasPrefix("text/event-stream") {
            var decoder = SSEDecoder()
            for try await chunk in response.body {
                for event in try decoder.feed(chunk.readableBytesView) {
                    if let message = try? JSONValue.parse(event.data) { answered = await pass(message, answering: id, method: method) || answered }
                }
            }
        } else {
            let body = try await response.body.collect(upTo: 64 << 20)
            if let message = try? JSONValue.parse(Array(body.readableBytesView)) {
                for each in message.arrayValue ?? [message] { answered = await pass(each, answering: id, method: method) || answered }
            }
        }
        if let id, !answered {
            let detail = response.status == 404 && sessionID != nil ? " (the session has ended; reconnect)" : ""
            await deliver(Self.error(id: id, code: -32603, "\(serverURL) answered HTTP \(response.status) without a response\(detail)"))
        }
    }

    /// Delivers one message; true when it is the response to the request `id` (and keeps the
    /// version `initialize` negotiated).
    private func pass(_ message: JSONValue, answering id: JSONValue?, method: String?) async -> Bool {
        let isAnswer = id != nil && message.objectValue?["id"] == id && message.objectValue?["method"] == nil
        // Kept before the client sees the result, so its next message carries the version.
        if isAnswer, method == "initialize", let version = message.objectValue?["result"]?.objectValue?["protocolVersion"]?.stringValue {
            protocolVersion = version
        }
        await deliver(message)
        return isAnswer
    }

    static func error(id: JSONValue, code: Int, _ message: String) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": .int(code), "message": .string(message)]]
    }
}
