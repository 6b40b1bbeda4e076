import Foundation
import GatehouseCore

/// Runs one request whose handler may send notifications before its response (progress), and
/// decides the framing from what comes first: a response before any notification is answered
/// as usual (its status can still say 400 or 404); a notification first turns the answer into
/// an event stream, notifications as they happen, the response last (Streamable HTTP, "Sending
/// Messages to the Server": the server MAY send notifications before the response, on an SSE
/// stream). When the client goes away the stream ends and the handler is cancelled.
enum NotifyingExchange {
    enum Outcome {
        case response(JSONRPCResponse)
        case stream(AsyncStream<Data>)
    }

    private enum Event: Sendable {
        /// A notification or a request to the client.
        case notification(JSONValue)
        case response(JSONRPCResponse)

        var frame: Data {
            switch self {
            case .notification(let message):
                var writer = JSONWriter()
                writer.value(message)
                return MCPHTTPResponse.event(Data(writer.bytes))
            case .response(let response):
                return MCPHTTPResponse.event(response.encoded())
            }
        }
    }

    /// The events of one exchange, read first by ``run(_:)`` and then by the stream it returns:
    /// one reader at a time, never two at once.
    private final class Events: @unchecked Sendable {
        var iterator: AsyncStream<Event>.Iterator

        init(_ stream: AsyncStream<Event>) { iterator = stream.makeAsyncIterator() }

        func next() async -> Event? { await iterator.next() }
    }

    static let keepAliveInterval: Duration = .seconds(15)
    static let keepAliveFrame = Data(": keep-alive\n\n".utf8)

    /// Runs `work`, which gets the function that sends a message to the client.
    /// `started` receives the function that cancels the work (a client's `notifications/cancelled`).
    static func run(
        started: (@escaping @Sendable () -> Void) -> Void = { _ in },
        _ work: @escaping @Sendable (_ notify: @escaping @Sendable (JSONValue) -> Void) async -> JSONRPCResponse
    ) async -> Outcome {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let worker = Task {
            let response = await work { continuation.yield(.notification($0)) }
            continuation.yield(.response(response))
            continuation.finish()
        }
        started { worker.cancel() }
        let events = Events(stream)
        switch await events.next() {
        case .response(let response)?:
            return .response(response)
        case .notification(let first)?:
            let (frames, output) = AsyncStream<Data>.makeStream()
            output.yield(Event.notification(first).frame)
            let forward = Task {
                while let event = await events.next() { output.yield(event.frame) }
                output.finish()
            }
            // A comment line every `keepAliveInterval` keeps proxies and clients from closing a
            // quiet stream (a long tool call, a question waiting for the user).
            let keepAlive = Task {
                while (try? await Task.sleep(for: keepAliveInterval)) != nil { output.yield(keepAliveFrame) }
            }
            output.onTermination = { _ in
                forward.cancel()
                keepAlive.cancel()
                worker.cancel()
            }
            return .stream(frames)
        case nil:
            return .response(JSONRPCResponse(id: nil, error: JSONRPCError(code: JSONRPCError.internalErrorCode, message: "no response")))
        }
    }
}
