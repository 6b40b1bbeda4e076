import Foundation
import GatehouseCore
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    private func written(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func stringsAreEscapedAsRFC8259Requires() {
        #expect(written("a\"b\\c/d\n\r\t\u{8}\u{C}\u{1}\u{1F}é😀") == #""a\"b\\c/d\n\r\t\b\f\u0001\u001fé😀""#)
    }

    @Test func numbersAndLiterals() {
        #expect(written([1, -2, 0.5, 1e21, true, false, .null]) == "[1,-2,0.5,1e+21,true,false,null]")
        #expect(written(.double(.infinity)) == "null")
        #expect(written(.double(.nan)) == "null")
    }

    @Test func everythingRoundTripsThroughTheParser() throws {
        let value: JSONValue = [
            "text": "line\nbreak \"quoted\" \u{0}", "nested": ["a": [1, 2.25, ["b": .null]]], "empty": [:], "list": [],
        ]
        #expect(try JSONValue.parse(Array(written(value).utf8)) == value)
    }

    @Test func keysPlaceTheirCommas() {
        var writer = JSONWriter()
        writer.raw("{")
        writer.key("a", first: true)
        writer.int(1)
        writer.key("b")
        writer.string("x")
        writer.raw("}")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":1,"b":"x"}"#)
    }
}
