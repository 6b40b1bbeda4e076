import Foundation
import GatehouseCore

/// A JSON-RPC response ready to encode: a result or an error for one request id.
public struct JSONRPCResponse: Sendable {
    /// The id of the request answered; `nil` encodes as `null`, for errors raised before an id was read.
    public var id: RequestID?
    public var outcome: Outcome
    /// Set when the request failed for lack of scopes: every scope it needs. The transport
    /// answers with HTTP 403 and an `insufficient_scope` challenge.
    public var insufficientScopes: [String]?

    public enum Outcome: Sendable {
        case result(any Encodable & Sendable)
        case error(JSONRPCError)
    }

    public init(id: RequestID?, result: any Encodable & Sendable) {
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
        do {
            return try JSONEncoder.jsonRPC.encode(self)
        } catch {
            // A result that cannot be encoded is a server bug; answer with an error, never crash.
            let fallback = JSONRPCResponse(id: id, error: .internalError("the result could not be encoded"))
            return (try? JSONEncoder.jsonRPC.encode(fallback)) ?? Data()
        }
    }
}

extension JSONRPCResponse: Encodable {
    private enum CodingKeys: String, CodingKey { case jsonrpc, id, result, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("2.0", forKey: .jsonrpc)
        if let id {
            try container.encode(id, forKey: .id)
        } else {
            try container.encodeNil(forKey: .id)
        }
        switch outcome {
        case .result(let result): try container.encode(result, forKey: .result)
        case .error(let error): try container.encode(error, forKey: .error)
        }
    }
}

extension JSONEncoder {
    /// The encoder for everything Gatehouse sends: compact, URLs and slashes unescaped.
    ///
    /// One shared instance: its configuration never changes after this point, and
    /// `JSONEncoder` is safe to use from many tasks at once (it is `Sendable`).
    public static let jsonRPC: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}
