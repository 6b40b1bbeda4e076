import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseMCP
import NIOCore
import NIOHTTP1

/// Streamable HTTP to one upstream, for one downstream session or one caller.
///
/// In session mode the channel opens its own upstream session (`initialize` declaring the
/// downstream client's capabilities, `notifications/initialized`) on first use, and opens a
/// new one when the upstream answers 404 (Streamable HTTP 2025-11-25, "Session Management" 4:
/// the client MUST start a new session). In stateless mode (2026-07-28) every request carries
/// the protocol `_meta` and the `Mcp-Method` / `Mcp-Name` headers.
///
/// Answers are read as they arrive: on an event stream, notifications are relayed and requests
/// from the upstream answered (in parallel, POSTed back in the session) until the response
/// with the gateway's id comes.
actor StreamableHTTPChannel: UpstreamChannel {
    enum Mode: Sendable {
        case session(clientCapabilities: JSONValue)
        case stateless(clientCapabilities: JSONValue)
    }

    static let sessionVersion = "2025-11-25"
    static let statelessVersion = "2026-07-28"
    static let maxMessageBytes = 16 * 1024 * 1024

    let url: String
    let mode: Mode
    let http: HTTPClient
    let timeout: Duration
    let identity: IdentityHeaders
    /// Whether the upstream session is initialized; servers need not issue a session id.
    private var isOpen = false
    private var sessionID: String?
    /// Who the session was opened for: its `DELETE` carries their identity too.
    private var owner: Caller?
    private var negotiatedVersion: String?
    private var opening: Task<Void, any Error>?
    private var nextID = 0

    init(url: String, mode: Mode, http: HTTPClient, timeout: Duration, identity: IdentityHeaders) {
        self.url = url
        self.mode = mode
        self.http = http
        self.timeout = timeout
        self.identity = identity
    }

    func send(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        do {
            try await openSession(for: request.caller)
            return try await exchange(request, relay: relay)
        } catch .sessionExpired {
            isOpen = false
            sessionID = nil
            try await openSession(for: request.caller)
            return try await exchange(request, relay: relay)
        }
    }

    func close() async {
        isOpen = false
        guard let sessionID else { return }
        self.sessionID = nil
        var request = HTTPClientRequest(url: url)
        request.method = .DELETE
        request.headers.add(name: "Mcp-Session-Id", value: sessionID)
        if let negotiatedVersion { request.headers.add(name: "MCP-Protocol-Version", value: negotiatedVersion) }
        if let owner { try? await identity.add(to: &request, for: owner) }
        _ = try? await http.execute(request, timeout: .seconds(2))
    }

    /// Whether `url` serves the stateless 2026-07-28 protocol: its `server/discover` answers with
    /// that version among `supportedVersions`. Any other answer means sessions; no answer at all
    /// is a failure (the upstream is down).
    static func probeStateless(
        url: String, http: HTTPClient, timeout: Duration, identity: IdentityHeaders, caller: Caller
    ) async throws(UpstreamFailure) -> Bool {
        let probe = StreamableHTTPChannel(
            url: url, mode: .stateless(clientCapabilities: .object([:])), http: http, timeout: timeout, identity: identity)
        let reply: UpstreamReply
        do {
            reply = try await probe.exchange(UpstreamRequest(method: "server/discover", params: [:], caller: caller), relay: .none)
        } catch .protocolViolation, .sessionExpired, .refused {
            return false  // a session-era server refuses the request without a session
        }
        guard case .result(let result) = reply else { return false }
        return result.objectValue?["supportedVersions"]?.arrayValue?.contains(.string(statelessVersion)) ?? false
    }

    // MARK: Session

    private func openSession(for caller: Caller) async throws(UpstreamFailure) {
        guard case .session(let capabilities) = mode, !isOpen else { return }
        owner = caller
        if let opening {
            // Another request is opening the session: wait for it rather than opening a second.
            do { return try await opening.value } catch { throw error as? UpstreamFailure ?? .unreachable("\(error)") }
        }
        let task = Task { () async throws -> Void in
            let params: [String: JSONValue] = [
                "protocolVersion": .string(Self.sessionVersion),
                "capabilities": Self.relayable(capabilities),
                "clientInfo": ["name": "gatehouse-gateway", "version": .string(Gatehouse.version)],
            ]
            let reply = try await self.exchange(UpstreamRequest(method: "initialize", params: params, caller: caller), relay: .none)
            guard case .result(let result) = reply, let version = result.objectValue?["protocolVersion"]?.stringValue else {
                throw UpstreamFailure.sessionsRefused(Self.excerpt(reply))
            }
            self.negotiatedVersion = version
            try await self.post(["jsonrpc": "2.0", "method": "notifications/initialized"], caller: caller)
        }
        opening = task
        defer { opening = nil }
        do {
            try await task.value
            isOpen = true
        } catch {
            sessionID = nil
            throw error as? UpstreamFailure ?? .unreachable("\(error)")
        }
    }

    /// The capabilities the gateway can relay for the client: answering requests needs a
    /// session stream, so only these three are passed on.
    static func relayable(_ capabilities: JSONValue) -> JSONValue {
        guard case .object(let all) = capabilities else { return .object([:]) }
        return .object(all.filter { ["elicitation", "sampling", "roots"].contains($0.key) })
    }

    // MARK: Exchange

    private func exchange(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        nextID += 1
        let id = JSONValue.string("gw-\(nextID)")
        var params = request.params
        switch mode {
        case .stateless(let capabilities): params = Self.statelessMeta(params, capabilities: capabilities)
        case .session: params = params.withoutProtocolMeta()  // an upstream session refuses the envelope
        }
        let message: JSONValue = ["jsonrpc": "2.0", "id": id, "method": .string(request.method), "params": .object(params)]
        let response = try await execute(message, method: request.method, name: request.name, caller: request.caller)
        if request.method == "initialize", let session = response.headers.first(name: "Mcp-Session-Id") { sessionID = session }
        do {
            return try await read(response, answering: id, relay: relay, caller: request.caller)
        } catch is CancellationError {
            cancelUpstream(id, caller: request.caller)
            throw .unavailable("the request was cancelled")
        } catch let failure as UpstreamFailure {
            throw failure
        } catch {
            if Task.isCancelled {
                cancelUpstream(id, caller: request.caller)
                throw .unavailable("the request was cancelled")
            }
            throw Self.failure(error, timeout: timeout)
        }
    }

    /// POSTs one message and returns the response head; HTTP-level refusals become failures.
    private func execute(_ message: JSONValue, method: String, name: String?, caller: Caller) async throws(UpstreamFailure) -> HTTPClientResponse {
        var writer = JSONWriter()
        writer.value(message)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "User-Agent", value: "gatehouse-gateway/\(Gatehouse.version)")
        switch mode {
        case .stateless:
            request.headers.add(name: "MCP-Protocol-Version", value: Self.statelessVersion)
            request.headers.add(name: "Mcp-Method", value: method)
            if let name { request.headers.add(name: "Mcp-Name", value: Self.headerValue(name)) }
        case .session:
            if let negotiatedVersion, method != "initialize" { request.headers.add(name: "MCP-Protocol-Version", value: negotiatedVersion) }
            if let sessionID { request.headers.add(name: "Mcp-Session-Id", value: sessionID) }
        }
        try await identity.add(to: &request, for: caller)
        request.body = .bytes(ByteBuffer(bytes: writer.bytes))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        } catch {
            throw Self.failure(error, timeout: timeout)
        }
        switch response.status.code {
        case 200..<300:
            return response
        case 401, 403:
            throw .refused(status: Int(response.status.code))
        case 404 where sessionID != nil && method != "initialize":
            throw .sessionExpired
        default:
            // An error status may still carry a JSON-RPC error (a 400 for a bad request): that is an answer.
            return response
        }
    }

    /// Reads the answer to `id` from a JSON body or an event stream.
    private func read(
        _ response: HTTPClientResponse, answering id: JSONValue, relay: UpstreamRelay, caller: Caller
    ) async throws -> UpstreamReply {
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard contentType.hasPrefix("text/event-stream") else {
            let body = try await response.body.collect(upTo: Self.maxMessageBytes)
            guard let message = try? JSONValue.parse(Array(body.readableBytesView)) else {
                throw UpstreamFailure.protocolViolation("HTTP \(response.status.code) with a body that is not JSON")
            }
            if let reply = Self.reply(in: message, to: id) { return reply }
            throw UpstreamFailure.protocolViolation("HTTP \(response.status.code) without a response to the request")
        }
        var decoder = SSEDecoder(maxEventBytes: Self.maxMessageBytes)
        for try await chunk in response.body {
            for event in try decoder.feed(chunk.readableBytesView) {
                guard let message = try? JSONValue.parse(event.data) else { continue }
                if let reply = Self.reply(in: message, to: id) { return reply }
                handle(message, relay: relay, caller: caller)
            }
        }
        throw UpstreamFailure.protocolViolation("the event stream ended before the response")
    }

    /// A notification is relayed; a request from the upstream is answered on a task of its own,
    /// so the stream keeps being read while the client thinks.
    private func handle(_ message: JSONValue, relay: UpstreamRelay, caller: Caller) {
        guard case .object(let object) = message, case .string(let method)? = object["method"] else { return }
        guard let requestID = object["id"] else {
            relay.notify(message)
            return
        }
        let params = object["params"] ?? .null
        Task {
            try? await self.post(await relay.answer(method, params).response(to: requestID), caller: caller)
        }
    }

    /// Sends a notification or a response (the upstream answers 202, no body).
    private func post(_ message: JSONValue, caller: Caller) async throws(UpstreamFailure) {
        let response = try await execute(message, method: message.objectValue?["method"]?.stringValue ?? "response", name: nil, caller: caller)
        _ = try? await response.body.collect(upTo: 64 * 1024)
    }

    /// Streamable HTTP / basic "Cancellation": the client gave up, so the upstream is told.
    private func cancelUpstream(_ id: JSONValue, caller: Caller) {
        guard case .session = mode else { return }  // stateless: closing the stream is the cancellation
        Task.detached { [self] in
            try? await self.post(
                ["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": id, "reason": "the client went away"]],
                caller: caller)
        }
    }

    // MARK: Helpers

    static func reply(in message: JSONValue, to id: JSONValue) -> UpstreamReply? {
        guard case .object(let object) = message, object["method"] == nil else { return nil }
        guard object["id"] == id || object["id"] == .null || object["id"] == nil else { return nil }
        if let error = object["error"] { return .error(error) }
        if let result = object["result"] { return .result(result) }
        return nil
    }

    /// `params` with the 2026-07-28 envelope: the gateway as the client, and the capabilities the
    /// request already declares (a stateless client's own) or else `capabilities`.
    static func statelessMeta(_ params: [String: JSONValue], capabilities: JSONValue) -> [String: JSONValue] {
        var params = params
        var meta = params["_meta"]?.objectValue ?? [:]
        meta["io.modelcontextprotocol/protocolVersion"] = .string(statelessVersion)
        meta["io.modelcontextprotocol/clientInfo"] = ["name": "gatehouse-gateway", "version": .string(Gatehouse.version)]
        if meta["io.modelcontextprotocol/clientCapabilities"] == nil { meta["io.modelcontextprotocol/clientCapabilities"] = capabilities }
        params["_meta"] = .object(meta)
        return params
    }

    /// An `Mcp-Name` value: as it is when printable ASCII, else `=?base64?…?=` (2026-07-28).
    static func headerValue(_ name: String) -> String {
        if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && name.first != " " && name.last != " " { return name }
        return "=?base64?" + Data(name.utf8).base64EncodedString() + "?="
    }

    static func excerpt(_ reply: UpstreamReply) -> String {
        switch reply {
        case .error(let error): error.objectValue?["message"]?.stringValue ?? "an error"
        case .result: "a result without protocolVersion"
        }
    }

    static func failure(_ error: any Error, timeout: Duration) -> UpstreamFailure {
        if let error = error as? UpstreamFailure { return error }
        if let error = error as? HTTPClientError, [.readTimeout, .deadlineExceeded].contains(error) { return .timedOut(timeout) }
        if error is SSEDecoder.Failure || error is NIOTooManyBytesError {
            return .protocolViolation("a message larger than \(maxMessageBytes) bytes")
        }
        return .unreachable(EgressClient.reason(error))
    }
}
