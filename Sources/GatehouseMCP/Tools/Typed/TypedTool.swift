import Foundation
import GatehouseCore
import MCP

/// The arguments of a typed tool: a `Decodable` struct. Its JSON Schema is derived from the
/// struct itself (the properties it decodes, their types, which are optional), so there is no
/// schema dictionary to keep in step by hand.
///
/// ```swift
/// struct Greeting: ToolInput {
///     var name: String
///     var excited: Bool?
///     static let descriptions = ["name": "Who to greet."]
/// }
/// ```
public protocol ToolInput: Decodable, Sendable {
    /// Descriptions of the properties, by their JSON names, for the schema models read.
    static var descriptions: [String: String] { get }
}

extension ToolInput {
    public static var descriptions: [String: String] { [:] }
}

/// A string enum in a ``ToolInput``, described as a JSON Schema `enum` of its raw values.
public protocol ToolInputEnum: CaseIterable, RawRepresentable, Decodable, Sendable where RawValue == String {}

extension ToolInputEnum {
    static var caseNames: [String] { allCases.map(\.rawValue) }
    static var firstCase: Self? { allCases.first }
}

extension MCPTool {
    /// A tool whose arguments are a ``ToolInput`` and whose result is any `Encodable` value:
    /// the arguments are validated against the derived schema and decoded before `handler`
    /// runs; the result is returned as structured content and as its JSON text. When the result
    /// type is also `Decodable` (and an object), its schema becomes the tool's output schema.
    ///
    /// ```swift
    /// let greet = try MCPTool(name: "greet", description: "Greets someone.") { (input: Greeting, context) in
    ///     ["message": "Hello, \(input.name)!"]
    /// }
    /// ```
    ///
    /// - Throws: when the input type's schema cannot be derived (a custom `init(from:)` that
    ///   rejects placeholder values), so a misdeclared tool fails at start-up, not per call.
    public init<Input: ToolInput, Output: Encodable & Sendable>(
        name: String, title: String? = nil, description: String, annotations: ToolAnnotations = nil,
        requiredScopes: Set<String> = [], handler: @escaping @Sendable (Input, ToolContext) async throws -> Output
    ) throws {
        self.init(
            name: name, title: title, description: description, inputSchema: try Self.inputSchema(Input.self),
            outputSchema: Self.outputSchema(Output.self), annotations: annotations, requiredScopes: requiredScopes
        ) { arguments, context in
            try Self.encode(try await handler(try Self.decode(Input.self, arguments), context))
        }
    }

    /// A tool whose arguments are a ``ToolInput`` and that builds its own ``ToolResult``.
    public init<Input: ToolInput>(
        name: String, title: String? = nil, description: String, annotations: ToolAnnotations = nil,
        requiredScopes: Set<String> = [], handler: @escaping @Sendable (Input, ToolContext) async throws -> ToolResult
    ) throws {
        self.init(
            name: name, title: title, description: description, inputSchema: try Self.inputSchema(Input.self),
            annotations: annotations, requiredScopes: requiredScopes
        ) { arguments, context in
            try await handler(try Self.decode(Input.self, arguments), context)
        }
    }

    /// The derived schema of `Input`, with its property descriptions.
    static func inputSchema<Input: ToolInput>(_ type: Input.Type) throws -> JSONValue {
        guard case .object(var schema) = try SchemaRecorder.schema(of: Input.self),
            case .object(var properties)? = schema["properties"]
        else { throw SchemaRecorder.Failure(type: "\(Input.self)", reason: "tool arguments must be a struct with named properties") }
        for (name, description) in Input.descriptions {
            guard case .object(var property)? = properties[name] else { continue }
            property["description"] = .string(description)
            properties[name] = .object(property)
        }
        schema["properties"] = .object(properties)
        return .object(schema)
    }

    /// The output schema of a result type that is also `Decodable` and an object; else none.
    static func outputSchema<Output>(_ type: Output.Type) -> JSONValue? {
        guard let decodable = type as? any Decodable.Type, let schema = try? SchemaRecorder.schema(of: decodable),
            schema.objectValue?["type"] == "object"
        else { return nil }
        return schema
    }

    private static func decode<Input: ToolInput>(_ type: Input.Type, _ arguments: ToolArguments) throws -> Input {
        var writer = JSONWriter()
        writer.value(.object(arguments.values))
        do {
            return try JSONDecoder().decode(Input.self, from: Data(writer.bytes))
        } catch {
            // The schema was checked already; what remains is a value the type itself refuses.
            throw ToolError("the arguments do not fit \(Input.self): \(error)")
        }
    }

    private static func encode<Output: Encodable>(_ output: Output) throws -> ToolResult {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(output)
        let value = try JSONValue.parse(data)
        let text = String(decoding: data, as: UTF8.self)
        // MCP tools "Structured Content": structured content is a JSON object; other values are text only.
        guard case .object = value else { return .text(value.stringValue ?? text) }
        return .structured(value, text: text)
    }
}
