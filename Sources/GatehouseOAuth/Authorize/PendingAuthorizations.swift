import Foundation

/// Authorization requests waiting on the sign-in page, each with its CSRF token.
///
/// The page's form carries the request id and a CSRF token; the browser that loaded the page
/// holds a random browser binding in a cookie, recorded with the request. A submission counts
/// only when the form's token and the browser's cookie both match the request, so another site
/// cannot post the form for the user (login CSRF), and several sign-in pages can be open in one
/// browser at once. Entries expire after `lifetime`. Wrong passwords are counted per account and
/// address by ``SignInThrottle``, not per page, so opening a new page resets nothing.
public actor PendingAuthorizations {
    struct Entry {
        var request: AuthorizationRequest
        var csrfToken: String
        var browserBinding: String
        var createdAt: Date
    }

    private let lifetime: TimeInterval
    private let capacity: Int
    private let now: @Sendable () -> Date
    private var entries: [String: Entry] = [:]

    public init(lifetime: TimeInterval = 600, capacity: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.now = now
    }

    /// Stores `request` for the browser holding `browserBinding`; returns its id and CSRF token.
    public func add(_ request: AuthorizationRequest, browserBinding: String) -> (id: String, csrfToken: String) {
        let current = now()
        if entries.count >= capacity {
            entries = entries.filter { current.timeIntervalSince($0.value.createdAt) < lifetime }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.createdAt < $1.value.createdAt }) {
                entries[oldest.key] = nil
            }
        }
        let id = SecretToken.generate()
        let csrfToken = SecretToken.generate()
        entries[id] = Entry(
            request: request, csrfToken: csrfToken, browserBinding: browserBinding, createdAt: current)
        return (id, csrfToken)
    }

    /// The request `id` when it exists, has not expired, and the form's token and the browser's
    /// binding both match its own.
    public func request(id: String, formToken: String?, browserBinding: String?) -> AuthorizationRequest? {
        guard let entry = entries[id] else { return nil }
        guard now().timeIntervalSince(entry.createdAt) < lifetime else {
            entries[id] = nil
            return nil
        }
        guard let formToken, let browserBinding, formToken == entry.csrfToken, browserBinding == entry.browserBinding else {
            return nil
        }
        return entry.request
    }

    /// The CSRF token of request `id`, to render the page again.
    public func csrfToken(id: String) -> String? { entries[id]?.csrfToken }

    /// Ends request `id` (approved or denied).
    public func remove(id: String) { entries[id] = nil }
}
