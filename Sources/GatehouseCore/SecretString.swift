/// A secret setting (a client secret, an API key): its value is used, never shown. Printing
/// it, or anything that holds it, shows `********`, so a value that reaches a log line through
/// a type's default description (service lists, error dumps) leaks nothing.
public struct SecretString: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "********" }
    public var debugDescription: String { "********" }
}
