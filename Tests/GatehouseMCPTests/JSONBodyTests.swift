import Foundation
import GatehouseCore
import GatehouseMCP
import Testing

@Suite("Request body JSON parser")
struct JSONBodyTests {
    private func parse(_ text: String) throws(JSONRPCError) -> JSONValue { try JSONBody.decode(Data(text.utf8)) }

    @Test func valuesKeepTheirJSONTypes() throws {
        let value = try parse(#" {"i": -12, "d": 1.5, "e": 1e2, "t": true, "f": false, "n": null, "s": "x", "a": [1, [2]], "o": {}} "#)
        #expect(
            value == [
                "i": -12, "d": 1.5, "e": 100.0, "t": true, "f": false, "n": .null, "s": "x", "a": [1, [2]], "o": [:],
            ])
        #expect(try parse("9223372036854775807") == .int(Int.max))
        #expect(try parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try parse("-0") == .int(0))
        #expect(try parse("0.0") == .double(0))
    }

    @Test func stringsAreNeverReinterpreted() throws {
        #expect(try parse(#""data:,hello""#) == .string("data:,hello"))
        #expect(try parse(#""data:text/plain;base64,aGk=""#) == .string("data:text/plain;base64,aGk="))
    }

    @Test func escapesAndUnicode() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try parse(#""ünïcødé 😀""#) == .string("ünïcødé 😀"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "01", "1.", ".5", "+1", "1e", "--1", "NaN",
        "Infinity", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"a\nb\"", "1 2", "{}x", "[1 2]", "1e999", "'a'",
    ])
    func malformedTextIsAParseError(text: String) {
        #expect(throws: JSONRPCError.self) { try parse(text) }
        do { _ = try parse(text) } catch { #expect(error.code == -32700) }
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONRPCError.self) { try JSONBody.decode(Data(bytes)) }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        #expect(throws: JSONRPCError.self) { try JSONBody.decode(Data(overlong)) }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: JSONBody.maxDepth) + String(repeating: "]", count: JSONBody.maxDepth)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        do {
            _ = try parse(deep)
            Issue.record("100 000 levels of nesting were accepted")
        } catch {
            #expect(error.message.contains("nesting deeper than \(JSONBody.maxDepth) levels"))
        }
    }

    @Test func errorsNameTheOffset() {
        do {
            _ = try parse(#"{"a": tru}"#)
        } catch {
            #expect(error.message == "Parse error: unexpected character at byte 6")
        }
    }

    @Test func agreesWithFoundationOnRoundTrips() throws {
        let text = #"{"tools":[{"name":"add","inputSchema":{"type":"object","properties":{"a":{"type":"number","minimum":-1.25e-3}}}}],"x":"\u2028"}"#
        let ours = try parse(text)
        let reencoded = try JSONEncoder().encode(ours)
        #expect(try JSONBody.decode(reencoded) == ours)
    }
}
