/// How long to leave an upstream alone after failures: 0.5 s, doubling, at most 30 s.
struct Backoff: Sendable {
    var initial: Duration = .milliseconds(500)
    var maximum: Duration = .seconds(30)

    func delay(failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let doubled = initial * (1 << min(failures - 1, 16))
        return min(doubled, maximum)
    }

    /// The wait left before the next attempt, or `nil` when an attempt may go now.
    func remaining(after downSince: ContinuousClock.Instant?, failures: Int) -> Duration? {
        guard let downSince else { return nil }
        let left = delay(failures: failures) - (ContinuousClock.now - downSince)
        return left > .zero ? left : nil
    }
}
