/// `Duration` in the units other APIs take, without truncating: a 500 ms timeout is 0.5 s and
/// 500,000,000 ns, never 0 s.
extension Duration {
    /// The duration in seconds, fractions kept.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds.
    public var inNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
