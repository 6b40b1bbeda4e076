import Foundation
import GatehouseCore

/// Derives the JSON Schema of a `Decodable` type from its own `init(from:)`: a decoder that
/// answers every request with a placeholder and writes down what was asked for, under which
/// key, and whether it was optional (`decodeIfPresent`). The schema therefore cannot drift from
/// the type: it is the type's decoding, recorded.
///
/// Understood: structs and classes with keyed decoding, `String`, `Bool`, every integer and
/// floating-point type, arrays, optionals, nested types, `[String: T]` dictionaries and string
/// enums that conform to ``ToolInputEnum``. A type that needs more (a custom `init(from:)` that
/// rejects placeholder values) or a recursive type cannot be described and is refused with ``Failure``.
enum SchemaRecorder {
    /// Why a type has no derivable schema.
    struct Failure: Error, CustomStringConvertible {
        let type: String
        let reason: String
        var description: String { "cannot derive a JSON Schema for \(type): \(reason)" }
    }

    /// The schema of `type`.
    static func schema<T: Decodable>(of type: T.Type) throws -> JSONValue {
        let node = Node(parent: nil)
        do {
            _ = try record(T.self, at: node)
        } catch {
            throw Failure(type: "\(T.self)", reason: "\(error)")
        }
        return node.schema
    }
}

/// What one decoding site turned out to be.
private final class Node {
    enum Kind {
        case unknown
        case scalar(JSONValue)
        case object(properties: [(String, Node)], required: [String])
        case dictionary(Node)
        case array(Node)
    }

    var kind = Kind.unknown
    /// The node this one is a property, item or value of.
    let parent: Node?
    /// The types whose decoding was recorded here, to notice a type that contains itself.
    var types: Set<ObjectIdentifier> = []

    init(parent: Node?) { self.parent = parent }

    /// True when `type` is already being recorded here or at a node this one is inside.
    func isInside(_ type: ObjectIdentifier) -> Bool {
        var node: Node? = self
        while let current = node {
            if current.types.contains(type) { return true }
            node = current.parent
        }
        return false
    }
    /// Keys asked about with `decodeNil(forKey:)`: what `decodeIfPresent` does first, so their
    /// properties are optional.
    var optionalKeys: Set<String> = []

    var schema: JSONValue {
        switch kind {
        case .unknown:
            return [:]
        case .scalar(let schema):
            return schema
        case .object(let properties, let required):
            var fields: [String: JSONValue] = [:]
            for (name, node) in properties { fields[name] = node.schema }
            return ["type": "object", "properties": .object(fields), "required": .array(required.map { .string($0) }), "additionalProperties": false]
        case .dictionary(let values):
            return ["type": "object", "additionalProperties": values.schema]
        case .array(let items):
            return ["type": "array", "items": items.schema]
        }
    }

    /// Records a property of an object.
    func property(_ name: String, required: Bool) -> Node {
        let child = Node(parent: self)
        if case .object(var properties, var requiredNames) = kind {
            properties.append((name, child))
            if required { requiredNames.append(name) }
            kind = .object(properties: properties, required: requiredNames)
        }
        return child
    }
}

/// The placeholder a scalar type decodes to, and the schema it stands for.
private func placeholder<T>(_ type: T.Type) -> (value: T, schema: JSONValue)? {
    switch type {
    case is String.Type: return ("" as? T).map { ($0, ["type": "string"]) }
    case is Bool.Type: return (false as? T).map { ($0, ["type": "boolean"]) }
    case is Double.Type: return (0.0 as? T).map { ($0, ["type": "number"]) }
    case is Float.Type: return (Float(0) as? T).map { ($0, ["type": "number"]) }
    case is Int.Type: return (0 as? T).map { ($0, ["type": "integer"]) }
    case is Int8.Type: return (Int8(0) as? T).map { ($0, ["type": "integer"]) }
    case is Int16.Type: return (Int16(0) as? T).map { ($0, ["type": "integer"]) }
    case is Int32.Type: return (Int32(0) as? T).map { ($0, ["type": "integer"]) }
    case is Int64.Type: return (Int64(0) as? T).map { ($0, ["type": "integer"]) }
    case is UInt.Type: return (UInt(0) as? T).map { ($0, ["type": "integer", "minimum": 0]) }
    case is UInt8.Type: return (UInt8(0) as? T).map { ($0, ["type": "integer", "minimum": 0]) }
    case is UInt16.Type: return (UInt16(0) as? T).map { ($0, ["type": "integer", "minimum": 0]) }
    case is UInt32.Type: return (UInt32(0) as? T).map { ($0, ["type": "integer", "minimum": 0]) }
    case is UInt64.Type: return (UInt64(0) as? T).map { ($0, ["type": "integer", "minimum": 0]) }
    default: return nil
    }
}

/// Decodes `type` at `node`: a scalar placeholder, a string enum's first case, or the type's
/// own decoding, recorded one level down.
private func record<T: Decodable>(_ type: T.Type, at node: Node) throws -> T {
    if let (value, schema) = placeholder(type) {
        node.kind = .scalar(schema)
        return value
    }
    if let enumType = type as? any ToolInputEnum.Type {
        node.kind = .scalar(["type": "string", "enum": .array(enumType.caseNames.map { .string($0) })])
        guard let first = enumType.firstCase as? T else { throw SchemaRecorder.Failure(type: "\(type)", reason: "it has no cases") }
        return first
    }
    // A recursive type (a tree, a linked list) would be recorded forever: it needs a schema by hand.
    guard !node.isInside(ObjectIdentifier(type)) else {
        throw SchemaRecorder.Failure(type: "\(type)", reason: "it contains itself; recursive types need a hand-written inputSchema")
    }
    node.types.insert(ObjectIdentifier(type))
    return try T(from: RecordingDecoder(node: node))
}

private struct RecordingDecoder: Decoder {
    let node: Node
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .unknown = node.kind { node.kind = .object(properties: [], required: []) }
        return KeyedDecodingContainer(KeyedRecorder<Key>(node: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let items = Node(parent: node)
        node.kind = .array(items)
        return UnkeyedRecorder(items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueRecorder(node: node)
    }
}

private struct KeyedRecorder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: Node
    var codingPath: [any CodingKey] = []

    /// Only a dictionary asks for its keys: it gets one, standing for all of them.
    var allKeys: [Key] {
        let values = Node(parent: node)
        node.kind = .dictionary(values)
        return Key(stringValue: "*").map { [$0] } ?? []
    }

    func contains(_ key: Key) -> Bool { true }

    private func child(_ key: Key, required: Bool) -> Node {
        if case .dictionary(let values) = node.kind { return values }
        return node.property(key.stringValue, required: required)
    }

    /// `decodeIfPresent` asks this first (the standard library's default does, for every type),
    /// so a key asked about here is an optional property.
    func decodeNil(forKey key: Key) throws -> Bool {
        node.optionalKeys.insert(key.stringValue)
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try record(type, at: child(key, required: !node.optionalKeys.contains(key.stringValue)))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try record(type, at: child(key, required: false))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = child(key, required: true)
        nested.kind = .object(properties: [], required: [])
        return KeyedDecodingContainer(KeyedRecorder<NestedKey>(node: nested))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let parent = child(key, required: true)
        let items = Node(parent: parent)
        parent.kind = .array(items)
        return UnkeyedRecorder(items: items)
    }

    func superDecoder() throws -> any Decoder { RecordingDecoder(node: node) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RecordingDecoder(node: child(key, required: true)) }
}

/// An array with exactly one element, whose decoding records the items' schema.
private struct UnkeyedRecorder: UnkeyedDecodingContainer {
    let items: Node
    var codingPath: [any CodingKey] = []
    var count: Int? { 1 }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex >= 1 }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try record(type, at: items)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        items.kind = .object(properties: [], required: [])
        return KeyedDecodingContainer(KeyedRecorder<NestedKey>(node: items))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        let inner = Node(parent: items)
        items.kind = .array(inner)
        return UnkeyedRecorder(items: inner)
    }

    mutating func superDecoder() throws -> any Decoder {
        currentIndex += 1
        return RecordingDecoder(node: items)
    }
}

private struct SingleValueRecorder: SingleValueDecodingContainer {
    let node: Node
    var codingPath: [any CodingKey] = []

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try record(type, at: node)
    }
}
