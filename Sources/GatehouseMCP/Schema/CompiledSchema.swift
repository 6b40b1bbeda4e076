import Foundation
import GatehouseCore

/// A JSON Schema read once into typed constraints, so validating a value looks nothing up by
/// keyword name: a tool's schema is compiled when the tool is made, not on every call.
indirect enum CompiledSchema: Sendable {
    /// `true`, and anything that is not a schema (which accepts every value).
    case acceptsAll
    /// `false`.
    case rejectsAll
    case constraints(Constraints)

    init(_ schema: JSONValue) {
        switch schema {
        case .bool(false): self = .rejectsAll
        case .object(let keywords): self = .constraints(Constraints(keywords))
        default: self = .acceptsAll
        }
    }

    /// The keywords of one schema object that constrain; annotations and unknown keywords are dropped.
    struct Constraints: Sendable {
        /// `type`, as written (for the message) and as the type names it allows.
        var type: (declared: JSONValue, names: [String])?
        var allowed: [JSONValue]?
        var constant: JSONValue?

        var minLength: Int?
        var maxLength: Int?
        var pattern: Pattern?

        var minimum: Double?
        var maximum: Double?
        var exclusiveMinimum: Double?
        var exclusiveMaximum: Double?
        var multipleOf: Double?

        var minItems: Int?
        var maxItems: Int?
        var uniqueItems = false
        var items: CompiledSchema?

        var required: [String] = []
        var minProperties: Int?
        var maxProperties: Int?
        var properties: [String: CompiledSchema] = [:]
        var additionalProperties: CompiledSchema?

        var allOf: [CompiledSchema] = []
        var anyOf: [CompiledSchema]?
        var oneOf: [CompiledSchema]?
        var not: CompiledSchema?

        init(_ keywords: [String: JSONValue]) {
            if let type = keywords["type"] {
                switch type {
                case .string(let name): self.type = (type, [name])
                case .array(let names): self.type = (type, names.compactMap(\.stringValue))
                default: break  // not a valid `type`: it constrains nothing
                }
            }
            if case .array(let allowed)? = keywords["enum"] { self.allowed = allowed }
            constant = keywords["const"]

            minLength = Self.count(keywords["minLength"])
            maxLength = Self.count(keywords["maxLength"])
            if case .string(let source)? = keywords["pattern"] { pattern = Pattern(source) }

            minimum = Self.number(keywords["minimum"])
            maximum = Self.number(keywords["maximum"])
            exclusiveMinimum = Self.number(keywords["exclusiveMinimum"])
            exclusiveMaximum = Self.number(keywords["exclusiveMaximum"])
            multipleOf = Self.number(keywords["multipleOf"]).flatMap { $0 > 0 ? $0 : nil }

            minItems = Self.count(keywords["minItems"])
            maxItems = Self.count(keywords["maxItems"])
            uniqueItems = keywords["uniqueItems"] == .bool(true)
            items = keywords["items"].map(CompiledSchema.init)

            if case .array(let names)? = keywords["required"] { required = names.compactMap(\.stringValue) }
            minProperties = Self.count(keywords["minProperties"])
            maxProperties = Self.count(keywords["maxProperties"])
            properties = (keywords["properties"]?.objectValue ?? [:]).mapValues(CompiledSchema.init)
            additionalProperties = keywords["additionalProperties"].map(CompiledSchema.init)

            if case .array(let schemas)? = keywords["allOf"] { allOf = schemas.map(CompiledSchema.init) }
            if case .array(let schemas)? = keywords["anyOf"] { anyOf = schemas.map(CompiledSchema.init) }
            if case .array(let schemas)? = keywords["oneOf"] { oneOf = schemas.map(CompiledSchema.init) }
            not = keywords["not"].map(CompiledSchema.init)
        }

        var hasCombinators: Bool { !allOf.isEmpty || anyOf != nil || oneOf != nil || not != nil }

        static func number(_ value: JSONValue?) -> Double? {
            switch value {
            case .int(let int)?: Double(int)
            case .double(let double)?: double
            default: nil
            }
        }

        /// A non-negative count (`minLength`, `maxItems`, …); anything else constrains nothing.
        private static func count(_ value: JSONValue?) -> Int? {
            number(value).flatMap { $0 >= 0 && $0 < 1e15 ? Int($0) : nil }
        }
    }

    /// A `pattern`, compiled once. A pattern this platform cannot compile constrains nothing.
    struct Pattern: @unchecked Sendable {  // NSRegularExpression is immutable and thread-safe once made.
        let source: String
        let expression: NSRegularExpression?

        init(_ source: String) {
            self.source = source
            self.expression = try? NSRegularExpression(pattern: source)
        }

        func matches(_ string: String) -> Bool {
            guard let expression else { return true }
            return expression.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
        }
    }
}
