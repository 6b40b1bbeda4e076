import Foundation
import GatehouseCore
import GatehouseHub
@testable import GatehouseMCP
import Testing

@Suite("Typed tools")
struct TypedToolTests {
    enum Color: String, ToolInputEnum {
        case red, green
    }

    struct Point: Codable, Sendable {
        var x: Double
        var y: Double
    }

    struct Everything: ToolInput {
        var text: String
        var count: Int
        var ratio: Double?
        var flag: Bool
        var tags: [String]
        var origin: Point
        var color: Color
        var labels: [String: Int]?
        static let descriptions = ["text": "Some text.", "nothing": "not a property"]
    }

    @Test func theSchemaIsTheStructsOwnDecoding() throws {
        let schema = try MCPTool.inputSchema(Everything.self)
        let expected: JSONValue = [
            "type": "object", "additionalProperties": false,
            "required": ["text", "count", "flag", "tags", "origin", "color"],
            "properties": [
                "text": ["type": "string", "description": "Some text."],
                "count": ["type": "integer"],
                "ratio": ["type": "number"],
                "flag": ["type": "boolean"],
                "tags": ["type": "array", "items": ["type": "string"]],
                "origin": [
                    "type": "object", "additionalProperties": false, "required": ["x", "y"],
                    "properties": ["x": ["type": "number"], "y": ["type": "number"]],
                ],
                "color": ["type": "string", "enum": ["red", "green"]],
                "labels": ["type": "object", "additionalProperties": ["type": "integer"]],
            ],
        ]
        #expect(schema == expected)
    }

    struct Sum: ToolInput {
        var a: Double
        var b: Double
    }

    struct Total: Codable, Sendable {
        var total: Double
    }

    @Test func argumentsAreValidatedAndDecodedAndTheResultIsStructured() async throws {
        let tool = try MCPTool(name: "sum", description: "Adds.") { (input: Sum, _) in Total(total: input.a + input.b) }
        #expect(tool.outputSchema == ["type": "object", "additionalProperties": false, "required": ["total"], "properties": ["total": ["type": "number"]]])
        let harness = EndpointHarness(tools: [tool])
        let good = await harness.stateless("tools/call", params: #""name":"sum","arguments":{"a":2,"b":3.5}"#, name: "sum")
        #expect(good.result?["structuredContent"] == ["total": 5.5])
        #expect(good.result?["content"]?.arrayValue?.first?.objectValue?["text"] == #"{"total":5.5}"#)
        let bad = await harness.stateless("tools/call", params: #""name":"sum","arguments":{"a":"two","b":3}"#, name: "sum")
        #expect(bad.result?["isError"] == true)
        #expect(bad.result?["content"]?.arrayValue?.first?.objectValue?["text"]?.stringValue?.contains("Invalid arguments") == true)
    }

    @Test func aResultThatIsNotAnObjectIsText() async throws {
        let tool = try MCPTool(name: "shout", description: "Shouts.") { (input: Everything, _) in input.text.uppercased() }
        #expect(tool.outputSchema == nil)
        let result = try await tool.handler(
            ToolArguments(["text": "hi", "count": 1, "flag": true, "tags": [], "origin": ["x": 0, "y": 0], "color": "red"]),
            ToolContext(principal: .anonymous, protocolVersion: .v2026_07_28, sessionID: nil, requestID: .number(1), logger: EndpointHarness.logger))
        #expect(result == .text("HI"))
    }

    struct Picky: ToolInput {
        var value: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            value = try container.decode(String.self, forKey: .value)
            guard !value.isEmpty else { throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: "empty") }
        }
        enum CodingKeys: String, CodingKey { case value }
    }

    @Test func aTypeWhoseSchemaCannotBeDerivedIsRefusedAtOnce() {
        #expect(throws: (any Error).self) { _ = try MCPTool(name: "picky", description: "Picky.") { (_: Picky, _) in "ok" } }
    }

    struct Tree: ToolInput {
        var label: String
        var children: [Tree]
    }

    final class Chain: ToolInput {
        let next: Chain?
    }

    @Test func aRecursiveTypeIsRefusedWithTheFixNotRecordedForever() {
        for make in [{ try MCPTool(name: "tree", description: "Tree.") { (_: Tree, _) in "ok" } },
                     { try MCPTool(name: "chain", description: "Chain.") { (_: Chain, _) in "ok" } }] {
            do {
                _ = try make()
                Issue.record("derived a schema for a recursive type")
            } catch {
                #expect("\(error)".contains("recursive types need a hand-written inputSchema"))
            }
        }
    }

    @Test func theBuiltInWaitToolHasItsDerivedSchemas() {
        #expect(BuiltinTools.wait.inputSchema.objectValue?["required"] == ["seconds"])
        #expect(BuiltinTools.wait.outputSchema?.objectValue?["properties"] == ["waited": ["type": "number"]])
    }
}
