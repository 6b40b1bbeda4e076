/// A gateway setting that cannot be used, with what to change.
public struct GatewayConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
