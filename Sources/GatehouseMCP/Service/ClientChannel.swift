import Foundation
import GatehouseCore

/// Messages to the client while one request is answered, on that request's event stream:
/// notifications and, on a session, requests whose responses the client POSTs back.
///
/// Streamable HTTP (2025-11-25, "Sending Messages to the Server"): before the response the
/// server MAY send requests and notifications, which SHOULD relate to the originating request.
public struct ClientChannel: Sendable {
    let send: @Sendable (JSONValue) -> Void
    let pending: PendingClientRequests?
    let sessionID: String?

    /// Sends one notification (a JSON-RPC object without an id).
    public func notify(_ message: JSONValue) {
        send(message)
    }

    /// Whether this channel can carry requests to the client: only a session-era stream can,
    /// since the answer arrives later, as a separate POST in the same session.
    public var carriesRequests: Bool { pending != nil && sessionID != nil }

    /// Sends the request `method(params)` to the client and waits, at most `timeout`, for its
    /// response: the `result` object, or the error the client sent.
    public func request(
        _ method: String, params: JSONValue, timeout: Duration
    ) async throws(ClientRequestFailure) -> JSONValue {
        guard let pending, let sessionID else { throw .notSupported }
        let id = pending.makeID()
        var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .string(id), "method": .string(method)]
        if params != .null { message["params"] = params }
        return try await pending.await(id, session: sessionID, timeout: timeout) {
            send(.object(message))
        }
    }
}

/// Why a request to the client got no result.
public enum ClientRequestFailure: Error, Sendable, Equatable {
    /// The client cannot receive requests on this exchange (stateless, or no event stream).
    case notSupported
    /// No response in time, or the exchange ended first.
    case timedOut
    /// The client answered with a JSON-RPC error (the `error` object).
    case answeredWithError(JSONValue)
}
