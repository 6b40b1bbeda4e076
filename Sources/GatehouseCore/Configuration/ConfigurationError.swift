/// A configuration value that cannot be used, with enough context to fix it.
///
/// Its ``description`` is the single line Gatehouse prints before refusing to start:
/// the variable or flag, where the value came from and what is wrong with it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The flag or environment variable name as the user wrote it.
    public var key: String
    /// The layer the offending value came from, or `nil` for problems not tied to one value.
    public var layer: ConfigurationLayer?
    /// What is wrong and, where possible, what to write instead.
    public var problem: String

    public init(key: String, layer: ConfigurationLayer?, problem: String) {
        self.key = key
        self.layer = layer
        self.problem = problem
    }

    public var description: String {
        if let layer {
            return "invalid configuration: \(key) (from \(layer)): \(problem)"
        }
        return "invalid configuration: \(key): \(problem)"
    }
}
