import GatehouseCore

/// The arguments of a `tools/call`, with typed accessors.
///
/// Arguments were validated against the tool's input schema before the handler
/// runs; the accessors still throw a ``ToolError`` rather than trap when a value is
/// missing or of another type, so a schema that is looser than the handler's
/// expectations produces a clear tool error.
public struct ToolArguments: Sendable, Equatable {
    public let values: [String: JSONValue]

    public init(_ values: [String: JSONValue]) { self.values = values }

    public subscript(name: String) -> JSONValue? { values[name] }

    public func string(_ name: String) throws(ToolError) -> String {
        guard case .string(let value)? = values[name] else { throw mismatch(name, expected: "a string") }
        return value
    }

    /// A number, accepting JSON integers and decimals alike.
    public func number(_ name: String) throws(ToolError) -> Double {
        switch values[name] {
        case .int(let value)?: return Double(value)
        case .double(let value)?: return value
        default: throw mismatch(name, expected: "a number")
        }
    }

    public func integer(_ name: String) throws(ToolError) -> Int {
        switch values[name] {
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value && abs(value) < 9.0e15: return Int(value)
        default: throw mismatch(name, expected: "an integer")
        }
    }

    public func bool(_ name: String) throws(ToolError) -> Bool {
        guard case .bool(let value)? = values[name] else { throw mismatch(name, expected: "a boolean") }
        return value
    }

    private func mismatch(_ name: String, expected: String) -> ToolError {
        values[name] == nil
            ? ToolError("missing argument \"\(name)\"")
            : ToolError("argument \"\(name)\" must be \(expected)")
    }
}
