import Foundation
import Hummingbird

// The physical ceiling of this stack for bench/http.sh: a bare Hummingbird endpoint that decodes
// the same JSON-RPC `tools/call add` body with Foundation's JSONDecoder and answers the result.
// No authentication, no MCP checks, no schema validation: what Gatehouse's figures compare to.
//
//   bench-ceiling --port P

struct Call: Decodable {
    struct Params: Decodable {
        struct Arguments: Decodable {
            var a: Double
            var b: Double
        }
        var name: String
        var arguments: Arguments
    }
    var jsonrpc: String
    var id: Int
    var method: String
    var params: Params
}

struct Reply: Encodable {
    struct Result: Encodable {
        struct Text: Encodable {
            var type = "text"
            var text: String
        }
        var content: [Text]
        var structuredContent: [String: Double]
        var isError = false
    }
    var jsonrpc = "2.0"
    var id: Int
    var result: Result
}

var port = 8890
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--port", let value = arguments.popFirst().flatMap(Int.init) {
        port = value
    } else {
        FileHandle.standardError.write(Data("usage: bench-ceiling [--port P]\n".utf8))
        exit(64)
    }
}

let decoder = JSONDecoder()
let encoder = JSONEncoder()
let router = Router()
router.get("/healthz") { _, _ in "ok" }
router.post("/mcp") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 20)
    let call = try decoder.decode(Call.self, from: body)
    let sum = call.params.arguments.a + call.params.arguments.b
    let text = sum.rounded() == sum ? String(Int(sum)) : String(sum)
    let reply = Reply(
        id: call.id, result: .init(content: [.init(text: text)], structuredContent: ["result": sum]))
    return Response(
        status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(reply))))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "ceiling"))
try await app.runService()
