/// Why a client operation failed, in words that say what to do about it.
public struct ClientError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
