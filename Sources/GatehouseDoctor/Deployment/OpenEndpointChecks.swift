import Foundation
import GatehouseCore

/// For an endpoint that serves without a token: the tool names clients accept, and the Origin
/// check the transport requires (MCP "Streamable HTTP", Security Warning: servers MUST validate
/// the Origin header, against DNS rebinding).
struct OpenEndpointChecks {
    static let step = "open endpoint"

    let url: String
    let http: ProbeHTTP
    let session: String?

    func run(_ log: inout ProbeLog) async {
        await checkOrigin(&log)
        await checkToolNames(&log)
    }

    private func checkOrigin(_ log: inout ProbeLog) async {
        let answer = try? await http.send(
            url, method: .POST, headers: EndpointStep.headers + [("Origin", "https://evil.example")], body: EndpointStep.initialize
        ).get()
        guard let answer, (200..<300).contains(answer.status) else { return }
        log.add(
            "origin.not_validated", .warning, "\(url) served a request from Origin https://evil.example (answered \(answer.status))",
            fix: "refuse requests whose Origin is not yours with 403 (a web page could otherwise drive a local server)",
            step: Self.step, evidence: ["url": url, "status": "\(answer.status)"])
    }

    private func checkToolNames(_ log: inout ProbeLog) async {
        var headers = EndpointStep.headers
        if let session {
            headers.append(("Mcp-Session-Id", session))
            _ = try? await http.send(
                url, method: .POST, headers: headers, body: Data(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.utf8)
            ).get()
        }
        guard let answer = try? await http.send(url, method: .POST, headers: headers, body: Data(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8)).get(),
            let message = Self.message(answer.body), let tools = message["result"]?.objectValue?["tools"]?.arrayValue
        else { return }
        for name in tools.compactMap({ $0.objectValue?["name"]?.stringValue }) where !Self.isValidToolName(name) {
            log.add(
                "tools.invalid_name", .warning,
                "tool \"\(name)\" is not ^[a-zA-Z0-9_-]{1,64}$; Claude and other clients refuse or rename such tools",
                fix: "rename it with letters, digits, _ and - only, at most 64 characters", step: Self.step, evidence: ["tool": name])
        }
    }

    static func isValidToolName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The JSON-RPC message of a JSON body, or the first `data:` of an SSE body.
    static func message(_ body: Data) -> [String: JSONValue]? {
        if let json = (try? JSONValue.parse(body))?.objectValue { return json }
        for line in String(decoding: body, as: UTF8.self).split(whereSeparator: \.isNewline) where line.hasPrefix("data:") {
            if let json = (try? JSONValue.parse(Data(line.dropFirst(5).utf8)))?.objectValue, json["id"] != nil { return json }
        }
        return nil
    }
}

extension UInt8 {
    fileprivate var isASCIILetterOrDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
