import Foundation
import GatehouseCore

/// Validates tool arguments against a tool's input schema.
///
/// It implements the JSON Schema (2020-12) keywords tool schemas use in practice:
/// `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`,
/// `minItems`, `maxItems`, `uniqueItems`, `minLength`, `maxLength`, `pattern`,
/// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`,
/// `minProperties`, `maxProperties`, `allOf`, `anyOf`, `oneOf` and `not`. Annotations
/// (`description`, `title`, `default`, `format`, `examples`) do not constrain. Unknown
/// keywords are ignored, as the specification requires.
public struct JSONSchemaValidator: Sendable {
    /// A violation: where in the instance (a JSON Pointer) and what is wrong.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    private let schema: CompiledSchema
    /// Validation stops after this many violations, so a huge bad input stays cheap to report.
    private let maxViolations = 10

    /// Compiles `schema` once; validate with the same validator as often as needed.
    public init(schema: JSONValue) { self.schema = CompiledSchema(schema) }

    /// Returns every violation of `instance` (up to a small limit); empty means valid.
    public func validate(_ instance: JSONValue) -> [Violation] {
        var walk = Walk(maxViolations: maxViolations)
        walk.check(instance, against: schema)
        return walk.violations
    }

    /// One validation: where in the instance it is, and what it found so far. The location is
    /// kept as segments and written out as a JSON Pointer only for a violation.
    private struct Walk {
        let maxViolations: Int
        var violations: [Violation] = []
        private var location: [PathSegment] = []

        init(maxViolations: Int) { self.maxViolations = maxViolations }

        private enum PathSegment {
            case member(String)
            case index(Int)
        }

        mutating func check(_ instance: JSONValue, against schema: CompiledSchema) {
            guard violations.count < maxViolations else { return }
            switch schema {
            case .acceptsAll: return
            case .rejectsAll: fail("no value is allowed here")
            case .constraints(let constraints): check(instance, constraints)
            }
        }

        private mutating func fail(_ message: String) {
            violations.append(Violation(path: pointer, message: message))
        }

        /// RFC 6901: the location as a JSON Pointer, `~` escaped as `~0` and `/` as `~1`.
        private var pointer: String {
            location.map { segment in
                switch segment {
                case .index(let index): "/\(index)"
                case .member(let name): "/" + name.replacing("~", with: "~0").replacing("/", with: "~1")
                }
            }.joined()
        }

        private mutating func within(_ segment: PathSegment, _ body: (inout Walk) -> Void) {
            location.append(segment)
            body(&self)
            location.removeLast()
        }

        private mutating func check(_ instance: JSONValue, _ schema: CompiledSchema.Constraints) {
            if let type = schema.type, !type.names.contains(where: { JSONSchemaValidator.matches(instance, typeName: $0) }) {
                fail("expected \(JSONSchemaValidator.describe(type.declared)), got \(JSONSchemaValidator.typeName(of: instance))")
                return  // Other keywords would only repeat the type error.
            }
            if let allowed = schema.allowed, !allowed.contains(where: { JSONSchemaValidator.equal($0, instance) }) {
                fail("must be one of \(allowed.map(JSONSchemaValidator.render).joined(separator: ", "))")
            }
            if let constant = schema.constant, !JSONSchemaValidator.equal(constant, instance) {
                fail("must be \(JSONSchemaValidator.render(constant))")
            }
            switch instance {
            case .string(let string): checkString(string, schema)
            case .int, .double: checkNumber(CompiledSchema.Constraints.number(instance)!, schema)
            case .array(let items): checkArray(items, schema)
            case .object(let members): checkObject(members, schema)
            default: break
            }
            if schema.hasCombinators { checkCombinators(instance, schema) }
        }

        private mutating func checkString(_ string: String, _ schema: CompiledSchema.Constraints) {
            if schema.minLength != nil || schema.maxLength != nil {
                let length = string.count
                if let min = schema.minLength, length < min { fail("must be at least \(min) characters long") }
                if let max = schema.maxLength, length > max { fail("must be at most \(max) characters long") }
            }
            if let pattern = schema.pattern, !pattern.matches(string) { fail("must match the pattern \(pattern.source)") }
        }

        private mutating func checkNumber(_ value: Double, _ schema: CompiledSchema.Constraints) {
            let show = JSONSchemaValidator.show
            if let min = schema.minimum, value < min { fail("must be at least \(show(min))") }
            if let max = schema.maximum, value > max { fail("must be at most \(show(max))") }
            if let min = schema.exclusiveMinimum, value <= min { fail("must be greater than \(show(min))") }
            if let max = schema.exclusiveMaximum, value >= max { fail("must be less than \(show(max))") }
            if let step = schema.multipleOf {
                let quotient = value / step
                if abs(quotient - quotient.rounded()) > 1e-9 { fail("must be a multiple of \(show(step))") }
            }
        }

        private mutating func checkArray(_ items: [JSONValue], _ schema: CompiledSchema.Constraints) {
            if let min = schema.minItems, items.count < min { fail("must have at least \(min) items") }
            if let max = schema.maxItems, items.count > max { fail("must have at most \(max) items") }
            if schema.uniqueItems {
                for (index, item) in items.enumerated() where items[..<index].contains(where: { JSONSchemaValidator.equal($0, item) }) {
                    fail("items must be unique (item \(index) repeats)")
                    break
                }
            }
            if let itemSchema = schema.items {
                for (index, item) in items.enumerated() {
                    within(.index(index)) { $0.check(item, against: itemSchema) }
                }
            }
        }

        private mutating func checkObject(_ members: [String: JSONValue], _ schema: CompiledSchema.Constraints) {
            for name in schema.required where members[name] == nil {
                fail("missing required property \"\(name)\"")
            }
            if let min = schema.minProperties, members.count < min { fail("must have at least \(min) properties") }
            if let max = schema.maxProperties, members.count > max { fail("must have at most \(max) properties") }
            // Sorted, so the violations of one input always come in the same order.
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = schema.properties[name] {
                    within(.member(name)) { $0.check(value, against: propertySchema) }
                } else if let additional = schema.additionalProperties {
                    if case .rejectsAll = additional {
                        within(.member(name)) { $0.fail("unknown property \"\(name)\"") }
                    } else {
                        within(.member(name)) { $0.check(value, against: additional) }
                    }
                }
            }
        }

        private mutating func checkCombinators(_ instance: JSONValue, _ schema: CompiledSchema.Constraints) {
            let passes = { (candidate: CompiledSchema) -> Bool in
                var scratch = Walk(maxViolations: 1)
                scratch.check(instance, against: candidate)
                return scratch.violations.isEmpty
            }
            for part in schema.allOf { check(instance, against: part) }
            if let anyOf = schema.anyOf, !anyOf.contains(where: passes) {
                fail("does not match any of the allowed forms (anyOf)")
            }
            if let oneOf = schema.oneOf {
                let matching = oneOf.filter(passes).count
                if matching != 1 { fail("must match exactly one allowed form (oneOf), matched \(matching)") }
            }
            if let not = schema.not, passes(not) { fail("matches a form that is not allowed (not)") }
        }
    }

    // MARK: - Helpers

    private static func matches(_ instance: JSONValue, typeName: String) -> Bool {
        switch (typeName, instance) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("string", .data), ("array", .array),
            ("object", .object), ("number", .int), ("number", .double), ("integer", .int):
            true
        case ("integer", .double(let value)): value.rounded() == value
        default: false
        }
    }

    private static func typeName(of instance: JSONValue) -> String {
        switch instance {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string, .data: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private static func describe(_ type: JSONValue) -> String {
        switch type {
        case .array(let names): names.map { describe($0) }.joined(separator: " or ")
        case .string(let name): ["integer": "an integer", "array": "an array", "object": "an object"][name] ?? "a \(name)"
        default: "a value"
        }
    }

    /// JSON equality, where 1 and 1.0 are the same number.
    private static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if let left = CompiledSchema.Constraints.number(lhs), let right = CompiledSchema.Constraints.number(rhs) { return left == right }
        return lhs == rhs
    }

    private static func show(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    private static func render(_ value: JSONValue) -> String {
        guard let data = try? JSONEncoder.jsonRPC.encode(value), let text = String(data: data, encoding: .utf8) else {
            return value.description
        }
        return text
    }
}
