import Foundation
import GatehouseCore

/// A JSON-RPC response ready to send: a result or an error for one request id.
public struct JSONRPCResponse: Sendable {
    /// The id of the request answered; `nil` is written as `null`, for errors raised before an id was read.
    public var id: RequestID?
    public var outcome: Outcome
    /// Set when the request failed for lack of scopes: every scope it needs. The transport
    /// answers with HTTP 403 and an `insufficient_scope` challenge.
    public var insufficientScopes: [String]?

    public enum Outcome: Sendable {
        case result(any JSONRPCResult)
        case error(JSONRPCError)
    }

    public init(id: RequestID?, result: any JSONRPCResult) {
        self.id = id
        self.outcome = .result(result)
    }

    public init(id: RequestID?, error: JSONRPCError) {
        self.id = id
        self.outcome = .error(error)
    }

    /// The error, when this response carries one.
    public var error: JSONRPCError? {
        if case .error(let error) = outcome { return error }
        return nil
    }

    /// The response as compact JSON bytes.
    public func encoded() -> Data {
        var writer = JSONWriter()
        write(into: &writer)
        return Data(writer.bytes)
    }

    func write(into writer: inout JSONWriter) {
        writer.raw(#"{"jsonrpc":"2.0","id":"#)
        switch id {
        case .number(let number)?: writer.int(number)
        case .string(let string)?: writer.string(string)
        case nil: writer.raw("null")
        }
        switch outcome {
        case .result(let result):
            writer.key("result")
            result.writeJSON(into: &writer)
        case .error(let error):
            writer.key("error")
            error.write(into: &writer)
        }
        writer.raw("}")
    }
}

extension JSONEncoder {
    /// The encoder for the JSON Gatehouse does not write itself (tool descriptors, rare
    /// content kinds): compact, slashes unescaped.
    ///
    /// One shared instance: its configuration never changes after this point, and
    /// `JSONEncoder` is safe to use from many tasks at once (it is `Sendable`).
    public static let jsonRPC: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}
