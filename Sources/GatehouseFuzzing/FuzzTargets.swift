import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseEgress
import GatehouseMCP
import GatehouseOAuth
import HTTPTypes

/// A parser of untrusted input, as a fuzz target: whatever the bytes, it must return (a value or
/// an error), never trap, hang or run out of memory. Some targets also check a property of what
/// they parse (JSON written back parses to the same value).
///
/// `scripts/fuzz.sh` runs each under libFuzzer; `FuzzCorpusTests` replays the committed seeds
/// and every input that once failed (`Tests/Fuzz/`) on every test run.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the input is.
    public let summary: String
    public let run: @Sendable ([UInt8]) -> Void
}

public enum FuzzTargets {
    /// Every target, by the name `scripts/fuzz.sh` and `Tests/Fuzz/` use.
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "json", summary: "a JSON-RPC body: parsed, written back and parsed again to the same value", run: json),
        FuzzTarget(name: "jwt", summary: "a compact JWT: its header and claims decoded", run: jwt),
        FuzzTarget(name: "authorization", summary: "an Authorization header and a query string", run: authorization),
        FuzzTarget(name: "accept", summary: "an Accept header", run: accept),
        FuzzTarget(name: "form", summary: "an application/x-www-form-urlencoded body", run: form),
        FuzzTarget(name: "client-metadata", summary: "a registration request and a client ID metadata document", run: clientMetadata),
        FuzzTarget(name: "www-authenticate", summary: "a WWW-Authenticate Bearer challenge, as the client reads it", run: wwwAuthenticate),
        FuzzTarget(name: "sse", summary: "an event stream, fed in two pieces", run: sse),
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    static func json(_ bytes: [UInt8]) {
        guard let value = try? JSONValue.parse(bytes) else { return }
        var writer = JSONWriter()
        writer.value(value)
        guard let again = try? JSONValue.parse(writer.bytes) else {
            fatalError("JSON written back does not parse: \(String(decoding: writer.bytes, as: UTF8.self).prefix(200))")
        }
        // NaN cannot come out of JSON text; any other difference is a writer or parser bug.
        precondition(again == value, "JSON changed on a round trip: \(String(decoding: writer.bytes, as: UTF8.self).prefix(200))")
    }

    static func jwt(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = JWTParts.looksLikeJWT(text)
        _ = try? JWTParts(text)
    }

    static func authorization(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (header, query) = text.firstIndex(of: "\n").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, nil)
        _ = BearerCredentials(headers: [.authorization: header], query: query)
    }

    static func accept(_ bytes: [UInt8]) {
        let parsed = AcceptHeader([.accept: String(decoding: bytes, as: UTF8.self)])
        _ = parsed.allowsJSON || parsed.allowsEventStream
    }

    static func form(_ bytes: [UInt8]) {
        guard let form = FormParameters(encoded: String(decoding: bytes, as: UTF8.self)) else { return }
        for name in ["grant_type", "code", "redirect_uri", "resource", "scope", "client_id"] { _ = try? form.value(name) }
    }

    static func clientMetadata(_ bytes: [UInt8]) {
        guard let value = try? JSONValue.parse(bytes) else { return }
        _ = try? ClientMetadata(registration: value)
        _ = try? ClientIDMetadataDocument.metadata(from: value, clientID: "https://client.example/oauth/metadata.json")
        if case .string(let url)? = value.objectValue?["client_id"] {
            _ = try? ClientIDMetadataDocument.validateURL(url, allowLoopbackHTTP: false)
        }
    }

    static func wwwAuthenticate(_ bytes: [UInt8]) {
        guard let challenge = BearerChallengeParameters(header: String(decoding: bytes, as: UTF8.self)) else { return }
        _ = (challenge.resourceMetadata, challenge.scope, challenge.error)
    }

    static func sse(_ bytes: [UInt8]) {
        var decoder = SSEDecoder(maxEventBytes: 4096)
        let middle = bytes.count / 2
        _ = try? decoder.feed(bytes[..<middle])
        _ = try? decoder.feed(bytes[middle...])
    }
}
