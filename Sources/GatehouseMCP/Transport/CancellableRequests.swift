import GatehouseCore
import Synchronization

/// Session requests being answered on event streams, so a client's `notifications/cancelled`
/// can stop one (basic utilities "Cancellation": the receiver SHOULD stop processing the
/// request). Only the session that sent a request can cancel it.
final class CancellableRequests: Sendable {
    private struct Key: Hashable {
        let session: String
        let id: RequestID
    }

    /// One request's way to be cancelled: registered before its work starts, so a cancellation
    /// that arrives before the work is attached still takes effect.
    final class Handle: Sendable {
        private let state = Mutex<(cancel: (@Sendable () -> Void)?, cancelled: Bool)>((nil, false))

        func attach(_ cancel: @escaping @Sendable () -> Void) {
            let cancelNow = state.withLock { state in
                state.cancel = cancel
                return state.cancelled
            }
            if cancelNow { cancel() }
        }

        func cancel() {
            let cancel = state.withLock { state in
                state.cancelled = true
                return state.cancel
            }
            cancel?()
        }
    }

    private let running = Mutex<[Key: Handle]>([:])

    /// Registers request `id` of `session` until ``finished(_:session:)``.
    func register(_ id: RequestID, session: String) -> Handle {
        let handle = Handle()
        running.withLock { $0[Key(session: session, id: id)] = handle }
        return handle
    }

    func finished(_ id: RequestID, session: String) {
        _ = running.withLock { $0.removeValue(forKey: Key(session: session, id: id)) }
    }

    /// Cancels what `params.requestId` names in `session`, if it is still running.
    func cancel(_ params: [String: JSONValue], session: String) {
        let id: RequestID
        switch params["requestId"] {
        case .string(let value)?: id = .string(value)
        case .int(let value)?: id = .number(value)
        default: return
        }
        running.withLock { $0.removeValue(forKey: Key(session: session, id: id)) }?.cancel()
    }
}
