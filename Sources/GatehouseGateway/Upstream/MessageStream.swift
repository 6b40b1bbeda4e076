import Foundation
import GatehouseCore
import GatehouseMCP

/// Where a ``MessageStream`` writes: a stdio process's stdin, or the POST endpoint of a
/// 2024-11-05 HTTP+SSE session.
protocol MessageWire: Sendable {
    func write(_ message: JSONValue) async throws
}

/// JSON-RPC over one inbound stream shared by many requests (stdio, and the 2024-11-05 HTTP+SSE
/// transport): requests go out with ids of the gateway's own, answers come back on the stream
/// and are routed by id; progress tokens are replaced by ones of the gateway's own (callers may
/// share the stream) and mapped back; a request silent past `timeout` fails and is cancelled
/// upstream (basic "Cancellation": `notifications/cancelled`).
///
/// On a stream owned by one caller (`shared` false), requests and notifications from the upstream
/// go to the relay of a request in flight (every relay reaches the same client). On a stream
/// shared by callers, only progress is relayed (to the caller whose token it carries); anything
/// else could reach the wrong person, so requests are refused (`ping` is answered) and other
/// notifications dropped.
actor MessageStream {
    let wire: any MessageWire
    let timeout: Duration
    let shared: Bool
    private var waiting: [String: Waiter] = [:]
    /// Progress tokens given to the upstream: the caller's token, relay and request each stands for.
    private var progressTokens: [String: (original: JSONValue, relay: UpstreamRelay, requestID: String)] = [:]
    private var nextID = 0
    private var closedReason: UpstreamFailure?

    private struct Waiter {
        let continuation: CheckedContinuation<Result<UpstreamReply, UpstreamFailure>, Never>
        let relay: UpstreamRelay
        var lastActivity: ContinuousClock.Instant
    }

    init(wire: any MessageWire, timeout: Duration, shared: Bool) {
        self.wire = wire
        self.timeout = timeout
        self.shared = shared
    }

    /// Sends `method(params)` and waits for the answer.
    func request(_ method: String, params: [String: JSONValue], relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        if let closedReason { throw closedReason }
        nextID += 1
        let id = "gw-\(nextID)"
        var params = params.withoutProtocolMeta()
        var progressKey: String?
        if let token = params["_meta"]?.objectValue?["progressToken"] {
            let key = "gw-progress-\(nextID)"
            progressKey = key
            progressTokens[key] = (token, relay, id)
            var meta = params["_meta"]?.objectValue ?? [:]
            meta["progressToken"] = .string(key)
            params["_meta"] = .object(meta)
        }
        defer { if let progressKey { progressTokens[progressKey] = nil } }
        let message: JSONValue = ["jsonrpc": "2.0", "id": .string(id), "method": .string(method), "params": .object(params)]
        let watchdog = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: timeout / 4)
                await self.expireIfSilent(id)
            }
        }
        defer { watchdog.cancel() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting[id] = Waiter(continuation: continuation, relay: relay, lastActivity: .now)
                Task { await self.send(message, for: id) }
            }
        } onCancel: {
            Task { await self.cancel(id, reason: "the client went away", failure: .unavailable("the request was cancelled")) }
        }
        return try result.get()
    }

    /// Sends a notification.
    func notify(_ message: JSONValue) async throws(UpstreamFailure) {
        do {
            try await wire.write(message)
        } catch {
            throw .unreachable("cannot send to it: \(error)")
        }
    }

    /// Whether the stream ended (``close(_:)``).
    var isClosed: Bool { closedReason != nil }

    /// The stream ended: every request waiting fails with `failure`, and so does every later one.
    func close(_ failure: UpstreamFailure) {
        closedReason = failure
        let all = waiting
        waiting = [:]
        for waiter in all.values { waiter.continuation.resume(returning: .failure(failure)) }
    }

    /// One message from the upstream.
    func receive(_ message: JSONValue) {
        guard case .object(let object) = message else { return }
        if case .string(let method)? = object["method"] {
            if let requestID = object["id"] {
                answer(requestID, method: method, params: object["params"] ?? .null)
            } else {
                notification(method, message: message, params: object["params"]?.objectValue ?? [:])
            }
            return
        }
        guard case .string(let id)? = object["id"] else { return }
        if let error = object["error"] {
            resolve(id, with: .success(.error(error)))
        } else {
            resolve(id, with: .success(.result(object["result"] ?? .null)))
        }
    }

    // MARK: Private

    private func send(_ message: JSONValue, for id: String) async {
        do {
            try await wire.write(message)
        } catch {
            resolve(id, with: .failure(.unreachable("cannot send to it: \(error)")))
        }
    }

    private func expireIfSilent(_ id: String) async {
        guard let waiter = waiting[id], ContinuousClock.now - waiter.lastActivity >= timeout else { return }
        await cancel(id, reason: "no answer in time", failure: .timedOut(timeout))
    }

    private func cancel(_ id: String, reason: String, failure: UpstreamFailure) async {
        guard waiting[id] != nil else { return }
        resolve(id, with: .failure(failure))
        try? await wire.write(["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": .string(id), "reason": .string(reason)]])
    }

    private func resolve(_ id: String, with result: Result<UpstreamReply, UpstreamFailure>) {
        waiting.removeValue(forKey: id)?.continuation.resume(returning: result)
    }

    private func notification(_ method: String, message: JSONValue, params: [String: JSONValue]) {
        guard method == "notifications/progress" else {
            if !shared { waiting.values.first?.relay.notify(message) }
            return
        }
        guard case .string(let key)? = params["progressToken"], let (original, relay, requestID) = progressTokens[key] else { return }
        var params = params
        params["progressToken"] = original
        relay.notify(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)])
        waiting[requestID]?.lastActivity = .now
    }

    private func answer(_ requestID: JSONValue, method: String, params: JSONValue) {
        let relay = shared ? .none : waiting.values.first?.relay ?? .none
        Task {
            try? await wire.write(await relay.answer(method, params).response(to: requestID))
        }
    }
}

/// The stream a reader hands messages to, set once the stream exists (the reader starts first).
final class StreamSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: MessageStream?

    var stream: MessageStream? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
