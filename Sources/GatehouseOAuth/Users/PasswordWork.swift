import NIOCore
import NIOPosix

/// Where password hashing runs: on NIO's blocking thread pool, never on Swift's cooperative
/// threads (a 50 ms scrypt there stalls every request sharing them), at most `width` hashes at
/// once (each takes 32 MiB), and at most `queue` waiting; past that the server is busy.
public actor PasswordWork {
    /// Too many sign-ins are being checked at once.
    public struct Busy: Error, Sendable {}

    private let width: Int
    private let queue: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(width: Int = max(1, System.coreCount / 2), queue: Int = 32) {
        self.width = width
        self.queue = queue
    }

    /// Runs `body` on the thread pool when a slot is free.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if running >= width {
            guard waiting.count < queue else { throw Busy() }
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
        defer { release() }
        return try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// Hands the slot to the next waiter, or frees it.
    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
