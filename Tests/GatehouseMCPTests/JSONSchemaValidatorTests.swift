import GatehouseCore
import GatehouseMCP
import Testing

@Suite("JSON Schema validation of tool arguments")
struct JSONSchemaValidatorTests {
    private func violations(_ instance: JSONValue, _ schema: JSONValue) -> [String] {
        JSONSchemaValidator(schema: schema).validate(instance).map(\.description)
    }

    @Test func typesAndRequired() {
        let schema: JSONValue = [
            "type": "object", "required": ["n"],
            "properties": ["n": ["type": "integer"], "s": ["type": ["string", "null"]]],
        ]
        #expect(violations(["n": 3, "s": "x"], schema).isEmpty)
        #expect(violations(["n": 3.0, "s": .null], schema).isEmpty)
        #expect(violations(["n": 3.5], schema) == ["/n: expected an integer, got number"])
        #expect(violations(["s": 1], schema) == ["missing required property \"n\"", "/s: expected a string or a null, got integer"])
        #expect(violations([1, 2], schema) == ["expected an object, got array"])
    }

    @Test func additionalProperties() {
        let closed: JSONValue = ["type": "object", "properties": ["a": true], "additionalProperties": false]
        #expect(violations(["a": 1, "b/c": 2], closed) == ["/b~1c: unknown property \"b/c\""])
        let typed: JSONValue = ["type": "object", "additionalProperties": ["type": "number"]]
        #expect(violations(["x": "no"], typed) == ["/x: expected a number, got string"])
    }

    @Test func nestedLocationsAreJSONPointers() {
        let schema: JSONValue = [
            "type": "object",
            "properties": ["a": ["type": "array", "items": ["type": "object", "additionalProperties": ["type": "integer"]]]],
        ]
        #expect(violations(["a": [["ok": 1], ["x~y": "no", "p/q": 2.5]]], schema) == [
            "/a/1/p~1q: expected an integer, got number", "/a/1/x~0y: expected an integer, got string",
        ])
    }

    @Test func aPatternThatDoesNotCompileConstrainsNothing() {
        #expect(violations("anything", ["pattern": "(unclosed"]).isEmpty)
    }

    @Test func aToolValidatesAgainstItsCurrentSchema() async {
        var tool = MCPTool(name: "t", description: "t", inputSchema: ["type": "object"]) { _, _ in .text("ok") }
        tool.inputSchema = ["type": "object", "required": ["n"]]
        let reply = await EndpointHarness(tools: [tool]).stateless("tools/call", params: #""name":"t","arguments":{}"#, name: "t")
        #expect(reply.text.contains(#"missing required property \"n\""#))
    }

    @Test func numbersStringsAndArrays() {
        #expect(violations(5, ["minimum": 6]) == ["must be at least 6"])
        #expect(violations(5, ["exclusiveMaximum": 5]) == ["must be less than 5"])
        #expect(violations(0.3, ["multipleOf": 0.1]).isEmpty)
        #expect(violations(0.35, ["multipleOf": 0.1]) == ["must be a multiple of 0.1"])
        #expect(violations("héllo", ["maxLength": 5]).isEmpty)
        #expect(violations("abc", ["pattern": "^[0-9]+$"]) == ["must match the pattern ^[0-9]+$"])
        #expect(violations([1, 1], ["uniqueItems": true, "maxItems": 1]).count == 2)
        #expect(violations([1, "x"], ["items": ["type": "integer"]]) == ["/1: expected an integer, got string"])
    }

    @Test func enumsConstAndCombinators() {
        #expect(violations("c", ["enum": ["a", "b"]]) == [#"must be one of "a", "b""#])
        #expect(violations(1.0, ["const": 1]).isEmpty)
        #expect(violations("x", ["anyOf": [["type": "integer"], ["type": "boolean"]]]).count == 1)
        #expect(violations(1, ["oneOf": [["type": "integer"], ["type": "number"]]]) == ["must match exactly one allowed form (oneOf), matched 2"])
        #expect(violations(1, ["not": ["type": "integer"]]).count == 1)
        #expect(violations(1, ["allOf": [["minimum": 0], ["maximum": 0]]]) == ["must be at most 0"])
    }

    @Test func booleanSchemasAndUnknownKeywords() {
        #expect(violations(1, true).isEmpty)
        #expect(violations(1, false) == ["no value is allowed here"])
        #expect(violations(1, ["format": "email", "x-custom": 3]).isEmpty)
    }

    @Test func violationCountIsBounded() {
        let many = JSONValue.array(Array(repeating: "x", count: 1000))
        #expect(violations(many, ["items": ["type": "integer"]]).count == 10)
    }
}
