import ArgumentParser
import Foundation
import GatehouseCore

/// Turns `key=value` pairs (or one JSON object) into tool arguments.
enum ToolArgumentParser {
    static func parse(_ pairs: [String], json: String?) throws -> [String: JSONValue] {
        if let json {
            guard pairs.isEmpty else { throw ValidationError("give arguments as key=value or with --json-args, not both") }
            guard case .object(let object)? = try? JSONValue.parse(Array(json.utf8)) else {
                throw ValidationError("--json-args must be a JSON object, e.g. '{\"a\": 2, \"b\": 3}'")
            }
            return object
        }
        var arguments: [String: JSONValue] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("\(pair.prefix(60)) is not key=value")
            }
            let key = String(pair[..<equals])
            let raw = String(pair[pair.index(after: equals)...])
            guard arguments[key] == nil else { throw ValidationError("\(key) is given twice") }
            // A value that is JSON (2, true, null, "quoted", [..], {..}) is that value; anything else is a string.
            arguments[key] = (try? JSONValue.parse(Array(raw.utf8))) ?? .string(raw)
        }
        return arguments
    }
}

/// Pretty JSON for people to read.
enum JSONText {
    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }
}
