import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseEgress
import GatehouseMCP
import NIOCore

/// The HTTP+SSE transport of protocol 2024-11-05 to one upstream, for one downstream session or
/// caller: a `GET` opens an event stream whose first event, `endpoint`, names the URL to POST
/// messages to; every answer comes back on the stream (routed by a ``MessageStream``).
///
/// The endpoint must be on the stream's origin (the caller's identity goes with every POST, so it
/// must not be sent elsewhere). When the stream ends, the waiting requests fail and the next
/// request opens a new stream and session; 2024-11-05 has no resumption.
actor LegacySSEChannel: UpstreamChannel {
    let url: String
    let http: HTTPClient
    let timeout: Duration
    let identity: IdentityHeaders
    let clientCapabilities: JSONValue
    private var open: (stream: MessageStream, reader: Task<Void, Never>)?
    private var opening: Task<MessageStream, any Error>?

    init(url: String, http: HTTPClient, timeout: Duration, identity: IdentityHeaders, clientCapabilities: JSONValue) {
        self.url = url
        self.http = http
        self.timeout = timeout
        self.identity = identity
        self.clientCapabilities = clientCapabilities
    }

    func send(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        try await stream(for: request.caller).request(request.method, params: request.params, relay: relay)
    }

    func close() async {
        opening?.cancel()
        guard let open else { return }
        self.open = nil
        await open.stream.close(.unavailable("the session ended"))
        open.reader.cancel()
    }

    private func stream(for caller: Caller) async throws(UpstreamFailure) -> MessageStream {
        if let open {
            if await !open.stream.isClosed { return open.stream }
            self.open = nil  // the stream ended while the session was being set up
        }
        if opening == nil { opening = Task { try await self.connect(caller) } }
        guard let opening else { throw .unavailable("cannot open the event stream") }
        defer { self.opening = nil }
        do {
            return try await opening.value
        } catch {
            throw error as? UpstreamFailure ?? StreamableHTTPChannel.failure(error, timeout: timeout)
        }
    }

    /// Opens the stream, waits for the `endpoint` event, then initializes a session on it.
    private func connect(_ caller: Caller) async throws -> MessageStream {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.headers.add(name: "User-Agent", value: "gatehouse-gateway/\(Gatehouse.version)")
        try await identity.add(to: &request, for: caller)
        let response = try await http.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        switch response.status.code {
        case 200: break
        case 401, 403: throw UpstreamFailure.refused(status: Int(response.status.code))
        default: throw UpstreamFailure.protocolViolation("GET \(url) answered HTTP \(response.status.code), not an event stream")
        }
        let (endpoints, endpointFound) = AsyncStream<String>.makeStream()
        let box = StreamSlot()
        // Off the actor: the reader waits on the network for as long as the session lasts.
        let reader = Task.detached {
            var decoder = SSEDecoder()
            do {
                for try await chunk in response.body {
                    for event in try decoder.feed(chunk.readableBytesView) {
                        if event.name == "endpoint" {
                            endpointFound.yield(String(decoding: event.data, as: UTF8.self))
                        } else if event.name == "message", let message = try? JSONValue.parse(event.data) {
                            await box.stream?.receive(message)
                        }
                    }
                }
            } catch {}
            endpointFound.finish()
            await box.stream?.close(.unreachable("the event stream closed"))
            await self.streamEnded()
        }
        var iterator = endpoints.makeAsyncIterator()
        guard let endpoint = await iterator.next() else {
            reader.cancel()
            throw UpstreamFailure.protocolViolation("the event stream closed before its endpoint event")
        }
        guard let postURL = Self.resolve(endpoint, against: url) else {
            reader.cancel()
            throw UpstreamFailure.protocolViolation("the endpoint \(endpoint) is not on the origin of \(url)")
        }
        let stream = MessageStream(
            wire: PostWire(url: postURL, http: http, timeout: timeout, identity: identity, caller: caller), timeout: timeout,
            shared: false)
        box.stream = stream
        let params: [String: JSONValue] = [
            "protocolVersion": "2024-11-05", "capabilities": StreamableHTTPChannel.relayable(clientCapabilities),
            "clientInfo": ["name": "gatehouse-gateway", "version": .string(Gatehouse.version)],
        ]
        do {
            let reply = try await stream.request("initialize", params: params, relay: .none)
            guard case .result = reply else {
                throw UpstreamFailure.protocolViolation("initialize failed: \(StreamableHTTPChannel.excerpt(reply))")
            }
            try await stream.notify(["jsonrpc": "2.0", "method": "notifications/initialized"])
        } catch {
            reader.cancel()
            throw error
        }
        open = (stream, reader)
        return stream
    }

    private func streamEnded() { open = nil }

    /// The POST URL an `endpoint` event names, when it is on the stream's own origin.
    static func resolve(_ endpoint: String, against streamURL: String) -> String? {
        guard let base = URL(string: streamURL), let resolved = URL(string: endpoint, relativeTo: base)?.absoluteURL,
            resolved.scheme == base.scheme, resolved.host == base.host, resolved.port == base.port
        else { return nil }
        return resolved.absoluteString
    }
}

/// POSTs each message to the session's endpoint; the answer comes on the event stream.
private struct PostWire: MessageWire {
    let url: String
    let http: HTTPClient
    let timeout: Duration
    let identity: IdentityHeaders
    let caller: Caller

    func write(_ message: JSONValue) async throws {
        var writer = JSONWriter()
        writer.value(message)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        try await identity.add(to: &request, for: caller)
        request.body = .bytes(ByteBuffer(bytes: writer.bytes))
        let response = try await http.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw UpstreamFailure.protocolViolation("POST \(url) answered HTTP \(response.status.code)")
        }
    }
}

