import Foundation

/// A limit of so many events per window, written `N/s`, `N/min` or `N/hour` (`60/min`).
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Events allowed in one window.
    public var events: Int
    /// The window, in seconds.
    public var windowSeconds: Int

    public init(events: Int, windowSeconds: Int) {
        self.events = events
        self.windowSeconds = windowSeconds
    }

    /// Parses `N/s`, `N/sec`, `N/second`, `N/m`, `N/min`, `N/minute`, `N/h`, `N/hour` or `N/day`
    /// (N at least 1); `nil` when `text` is none of them.
    public init?(parsing text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let events = Int(parts[0].trimmingCharacters(in: .whitespaces)), events >= 1 else { return nil }
        let windows: [String: Int] = [
            "s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86_400, "day": 86_400,
        ]
        guard let window = windows[parts[1].trimmingCharacters(in: .whitespaces).lowercased()] else { return nil }
        self.init(events: events, windowSeconds: window)
    }

    public var description: String {
        switch windowSeconds {
        case 1: "\(events)/s"
        case 60: "\(events)/min"
        case 3600: "\(events)/hour"
        case 86_400: "\(events)/day"
        default: "\(events)/\(windowSeconds)s"
        }
    }

    /// In words, for error messages: "60 per minute".
    public var inWords: String {
        let window = [1: "second", 60: "minute", 3600: "hour", 86_400: "day"][windowSeconds] ?? "\(windowSeconds) seconds"
        return "\(events) per \(window)"
    }
}
