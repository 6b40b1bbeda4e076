import Foundation
import GatehouseCore
import HTTPTypes
import Hummingbird
import NIOCore

/// Every JSON response of Gatehouse's routes (MCP responses excepted: the endpoint frames its
/// own bodies). Nothing is cached unless the caller says so.
enum JSONResponse {
    /// `value` as the body.
    static func make(
        _ value: JSONValue, status: HTTPResponse.Status = .ok, cache: String = "no-store", headers: HTTPFields = [:]
    ) -> Response {
        var writer = JSONWriter()
        writer.value(value)
        return make(bytes: writer.bytes, status: status, cache: cache, headers: headers)
    }

    /// Bytes that are already JSON as the body.
    static func make(
        bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok, cache: String = "no-store", headers: HTTPFields = [:]
    ) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = cache
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// An error with the field names of OAuth errors (RFC 6749 §5.2): `error`, `error_description`.
    static func error(_ status: HTTPResponse.Status, code: String, description: String, headers: HTTPFields = [:]) -> Response {
        make(["error": .string(code), "error_description": .string(description)], status: status, headers: headers)
    }
}
