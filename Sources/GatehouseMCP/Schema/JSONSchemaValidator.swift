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

    private let schema: JSONValue
    /// Validation stops after this many violations, so a huge bad input stays cheap to report.
    private let maxViolations = 10

    public init(schema: JSONValue) { self.schema = schema }

    /// Returns every violation of `instance` (up to a small limit); empty means valid.
    public func validate(_ instance: JSONValue) -> [Violation] {
        var violations: [Violation] = []
        check(instance, against: schema, at: "", into: &violations)
        return violations
    }

    private func check(_ instance: JSONValue, against schema: JSONValue, at path: String, into violations: inout [Violation]) {
        guard violations.count < maxViolations else { return }
        switch schema {
        case .bool(false): violations.append(Violation(path: path, message: "no value is allowed here"))
        case .object(let keywords): checkKeywords(instance, keywords, at: path, into: &violations)
        default: return  // `true` and non-schema values accept everything.
        }
    }

    private func checkKeywords(
        _ instance: JSONValue, _ keywords: [String: JSONValue], at path: String, into violations: inout [Violation]
    ) {
        func fail(_ message: String) { violations.append(Violation(path: path, message: message)) }

        if let type = keywords["type"], !Self.matches(instance, type: type) {
            fail("expected \(Self.describe(type)), got \(Self.typeName(of: instance))")
            return  // Other keywords would only repeat the type error.
        }
        if case .array(let allowed)? = keywords["enum"], !allowed.contains(where: { Self.equal($0, instance) }) {
            fail("must be one of \(allowed.map(Self.render).joined(separator: ", "))")
        }
        if let constant = keywords["const"], !Self.equal(constant, instance) {
            fail("must be \(Self.render(constant))")
        }
        switch instance {
        case .string(let string): checkString(string, keywords, fail: fail)
        case .int, .double: checkNumber(Self.number(instance)!, keywords, fail: fail)
        case .array(let items): checkArray(items, keywords, at: path, into: &violations)
        case .object(let members): checkObject(members, keywords, at: path, into: &violations)
        default: break
        }
        checkCombinators(instance, keywords, at: path, into: &violations)
    }

    private func checkString(_ string: String, _ keywords: [String: JSONValue], fail: (String) -> Void) {
        let length = string.count
        if let min = Self.int(keywords["minLength"]), length < min { fail("must be at least \(min) characters long") }
        if let max = Self.int(keywords["maxLength"]), length > max { fail("must be at most \(max) characters long") }
        if case .string(let pattern)? = keywords["pattern"] {
            if let regex = try? NSRegularExpression(pattern: pattern),
                regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) == nil
            {
                fail("must match the pattern \(pattern)")
            }
        }
    }

    private func checkNumber(_ value: Double, _ keywords: [String: JSONValue], fail: (String) -> Void) {
        if let min = Self.number(keywords["minimum"]), value < min { fail("must be at least \(Self.show(min))") }
        if let max = Self.number(keywords["maximum"]), value > max { fail("must be at most \(Self.show(max))") }
        if let min = Self.number(keywords["exclusiveMinimum"]), value <= min {
            fail("must be greater than \(Self.show(min))")
        }
        if let max = Self.number(keywords["exclusiveMaximum"]), value >= max {
            fail("must be less than \(Self.show(max))")
        }
        if let step = Self.number(keywords["multipleOf"]), step > 0 {
            let quotient = value / step
            if abs(quotient - quotient.rounded()) > 1e-9 { fail("must be a multiple of \(Self.show(step))") }
        }
    }

    private func checkArray(_ items: [JSONValue], _ keywords: [String: JSONValue], at path: String, into violations: inout [Violation]) {
        if let min = Self.int(keywords["minItems"]), items.count < min {
            violations.append(Violation(path: path, message: "must have at least \(min) items"))
        }
        if let max = Self.int(keywords["maxItems"]), items.count > max {
            violations.append(Violation(path: path, message: "must have at most \(max) items"))
        }
        if keywords["uniqueItems"] == .bool(true) {
            for (index, item) in items.enumerated() where items[..<index].contains(where: { Self.equal($0, item) }) {
                violations.append(Violation(path: path, message: "items must be unique (item \(index) repeats)"))
                break
            }
        }
        if let itemSchema = keywords["items"] {
            for (index, item) in items.enumerated() {
                check(item, against: itemSchema, at: "\(path)/\(index)", into: &violations)
            }
        }
    }

    private func checkObject(
        _ members: [String: JSONValue], _ keywords: [String: JSONValue], at path: String, into violations: inout [Violation]
    ) {
        if case .array(let required)? = keywords["required"] {
            for case .string(let name) in required where members[name] == nil {
                violations.append(Violation(path: path, message: "missing required property \"\(name)\""))
            }
        }
        if let min = Self.int(keywords["minProperties"]), members.count < min {
            violations.append(Violation(path: path, message: "must have at least \(min) properties"))
        }
        if let max = Self.int(keywords["maxProperties"]), members.count > max {
            violations.append(Violation(path: path, message: "must have at most \(max) properties"))
        }
        let properties = keywords["properties"]?.objectValue ?? [:]
        for name in members.keys.sorted() {
            let memberPath = "\(path)/\(Self.escapePointer(name))"
            if let propertySchema = properties[name] {
                check(members[name]!, against: propertySchema, at: memberPath, into: &violations)
            } else if let additional = keywords["additionalProperties"] {
                if additional == .bool(false) {
                    violations.append(Violation(path: memberPath, message: "unknown property \"\(name)\""))
                } else {
                    check(members[name]!, against: additional, at: memberPath, into: &violations)
                }
            }
        }
    }

    private func checkCombinators(_ instance: JSONValue, _ keywords: [String: JSONValue], at path: String, into violations: inout [Violation]) {
        let passes = { (schema: JSONValue) -> Bool in
            var scratch: [Violation] = []
            self.check(instance, against: schema, at: path, into: &scratch)
            return scratch.isEmpty
        }
        if case .array(let schemas)? = keywords["allOf"] {
            for schema in schemas { check(instance, against: schema, at: path, into: &violations) }
        }
        if case .array(let schemas)? = keywords["anyOf"], !schemas.contains(where: passes) {
            violations.append(Violation(path: path, message: "does not match any of the allowed forms (anyOf)"))
        }
        if case .array(let schemas)? = keywords["oneOf"] {
            let matching = schemas.filter(passes).count
            if matching != 1 {
                violations.append(
                    Violation(path: path, message: "must match exactly one allowed form (oneOf), matched \(matching)"))
            }
        }
        if let schema = keywords["not"], passes(schema) {
            violations.append(Violation(path: path, message: "matches a form that is not allowed (not)"))
        }
    }

    // MARK: - Helpers

    private static func matches(_ instance: JSONValue, type: JSONValue) -> Bool {
        switch type {
        case .string(let name): matches(instance, typeName: name)
        case .array(let names): names.contains { $0.stringValue.map { matches(instance, typeName: $0) } ?? false }
        default: true
        }
    }

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
        if let left = number(lhs), let right = number(rhs) { return left == right }
        return lhs == rhs
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let int)?: Double(int)
        case .double(let double)?: double
        default: nil
        }
    }

    private static func int(_ value: JSONValue?) -> Int? {
        number(value).flatMap { $0 >= 0 && $0 < 1e15 ? Int($0) : nil }
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

    /// RFC 6901: `~` becomes `~0` and `/` becomes `~1`.
    private static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
