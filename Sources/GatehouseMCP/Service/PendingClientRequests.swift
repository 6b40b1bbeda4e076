import Foundation
import GatehouseCore
import Synchronization

/// Requests sent to clients on event streams, waiting for the responses the clients POST back.
///
/// A response is taken only from the session the request went to (another session, even of
/// the same user, cannot answer it), and only once.
public final class PendingClientRequests: Sendable {
    private struct Key: Hashable {
        let session: String
        let id: String
    }

    private let waiting = Mutex<[Key: CheckedContinuation<Result<JSONValue, ClientRequestFailure>, Never>]>([:])
    private let prefix = "gatehouse-" + Base64URL.random(byteCount: 6) + "-"
    private let counter = Atomic<Int>(0)

    public init() {}

    /// A request id no client request of this process has used.
    func makeID() -> String {
        prefix + String(counter.add(1, ordering: .relaxed).newValue)
    }

    /// Runs `send`, then waits for the response to `id` from `session`.
    func await(
        _ id: String, session: String, timeout: Duration, send: () -> Void
    ) async throws(ClientRequestFailure) -> JSONValue {
        let key = Key(session: session, id: id)
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.resolve(key, with: .failure(.timedOut))
        }
        defer { timer.cancel() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting.withLock { $0[key] = continuation }
                if Task.isCancelled { resolve(key, with: .failure(.timedOut)) } else { send() }
            }
        } onCancel: {
            resolve(key, with: .failure(.timedOut))
        }
        return try result.get()
    }

    /// Hands a response the client POSTed in `session` to the request waiting for it; false when
    /// no request of that session waits for this id (it was never sent, or was answered already).
    @discardableResult
    public func deliver(_ response: [String: JSONValue], session: String) -> Bool {
        guard case .string(let id)? = response["id"] else { return false }
        if case .object? = response["error"] {
            return resolve(Key(session: session, id: id), with: .failure(.answeredWithError(response["error"] ?? .null)))
        }
        return resolve(Key(session: session, id: id), with: .success(response["result"] ?? .null))
    }

    @discardableResult
    private func resolve(_ key: Key, with result: Result<JSONValue, ClientRequestFailure>) -> Bool {
        guard let continuation = waiting.withLock({ $0.removeValue(forKey: key) }) else { return false }
        continuation.resume(returning: result)
        return true
    }
}
