import Foundation

/// Authorization requests waiting on the sign-in page, each with its CSRF token.
///
/// The page's form carries the request id and the CSRF token; the browser also holds the
/// token in a cookie. A submission counts only when all three agree, so another site cannot
/// post the form for the user (login CSRF). Entries expire after `lifetime`, and a request
/// is dropped after `maxFailures` wrong passwords.
public actor PendingAuthorizations {
    struct Entry {
        var request: AuthorizationRequest
        var csrfToken: String
        var createdAt: Date
        var failures: Int
    }

    private let lifetime: TimeInterval
    private let capacity: Int
    private let maxFailures: Int
    private let now: @Sendable () -> Date
    private var entries: [String: Entry] = [:]

    public init(
        lifetime: TimeInterval = 600, capacity: Int = 10_000, maxFailures: Int = 5, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.maxFailures = maxFailures
        self.now = now
    }

    /// Stores `request` and returns its id and CSRF token.
    public func add(_ request: AuthorizationRequest) -> (id: String, csrfToken: String) {
        let current = now()
        if entries.count >= capacity {
            entries = entries.filter { current.timeIntervalSince($0.value.createdAt) < lifetime }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.createdAt < $1.value.createdAt }) {
                entries[oldest.key] = nil
            }
        }
        let id = SecretToken.generate()
        let csrfToken = SecretToken.generate()
        entries[id] = Entry(request: request, csrfToken: csrfToken, createdAt: current, failures: 0)
        return (id, csrfToken)
    }

    /// The request `id` when it exists, has not expired, and both CSRF tokens match its own.
    public func request(id: String, formToken: String?, cookieToken: String?) -> AuthorizationRequest? {
        guard let entry = entries[id] else { return nil }
        guard now().timeIntervalSince(entry.createdAt) < lifetime else {
            entries[id] = nil
            return nil
        }
        guard let formToken, let cookieToken, formToken == entry.csrfToken, cookieToken == entry.csrfToken else { return nil }
        return entry.request
    }

    /// The CSRF token of request `id`, to render the page again.
    public func csrfToken(id: String) -> String? { entries[id]?.csrfToken }

    /// Counts a failed sign-in; returns false when the request is now dropped.
    public func recordFailure(id: String) -> Bool {
        guard var entry = entries[id] else { return false }
        entry.failures += 1
        guard entry.failures < maxFailures else {
            entries[id] = nil
            return false
        }
        entries[id] = entry
        return true
    }

    /// Ends request `id` (approved or denied).
    public func remove(id: String) { entries[id] = nil }
}
