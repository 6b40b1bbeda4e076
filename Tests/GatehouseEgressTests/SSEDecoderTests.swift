import Testing

import GatehouseEgress

@Suite struct SSEDecoderTests {
    @Test func eventsSplitAcrossChunksAndLineEndingsDecode() throws {
        var decoder = SSEDecoder()
        let stream = "event: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: keep-alive\n\nid: 7\ndata:{\"b\":2}\r\revent: endpoint\ndata: /messages?s=1\n\n"
        var events: [String] = []
        for byte in stream.utf8 {
            events += try decoder.feed([byte]).map { $0.name + " " + String(decoding: $0.data, as: UTF8.self) }
        }
        #expect(events == ["message {\"a\":\n1}", "message {\"b\":2}", "endpoint /messages?s=1"])
    }

    @Test func anOversizedEventIsRefused() {
        var decoder = SSEDecoder(maxEventBytes: 16)
        #expect(throws: SSEDecoder.Failure.self) { try decoder.feed(Array("data: 0123456789abcdefghij\n".utf8)) }
    }
}
