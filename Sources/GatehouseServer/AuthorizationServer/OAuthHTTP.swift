import Foundation
import GatehouseCore
import GatehouseOAuth
import HTTPTypes
import Hummingbird
import NIOCore

/// HTTP plumbing shared by the authorization server's routes.
enum OAuthHTTP {
    private static let pragma = HTTPField.Name("Pragma")!

    /// Largest form or registration body accepted.
    static let maxBodyBytes = 64 * 1024

    /// A JSON response that, by default, no cache may keep (RFC 6749 §5.1: `Cache-Control:
    /// no-store` and `Pragma: no-cache`).
    static func json(
        _ value: JSONValue, status: HTTPResponse.Status = .ok, cache: String = "no-store", headers: HTTPFields = [:]
    ) -> Response {
        var fields = headers
        fields[Self.pragma] = "no-cache"
        return JSONResponse.make(value, status: status, cache: cache, headers: fields)
    }

    /// An RFC 6749 §5.2 error response: 401 with a `WWW-Authenticate` challenge for
    /// `invalid_client` when the client tried HTTP Basic, 500/503 for server trouble, else 400.
    static func error(_ error: OAuthError, request: Request) -> Response {
        var headers: HTTPFields = [:]
        let status: HTTPResponse.Status
        switch error.code {
        case .invalidClient:
            status = .unauthorized
            headers[.wwwAuthenticate] = #"Basic realm="gatehouse""#
        case .serverError: status = .internalServerError
        case .temporarilyUnavailable:
            status = .serviceUnavailable
            headers[.retryAfter] = "5"
        default: status = .badRequest
        }
        return json(error.json, status: status, headers: headers)
    }

    /// The parameters of an `application/x-www-form-urlencoded` body (RFC 6749 §3.2).
    static func form(_ request: Request) async throws(OAuthError) -> FormParameters {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/x-www-form-urlencoded" else {
            throw OAuthError(.invalidRequest, "send the parameters as application/x-www-form-urlencoded (RFC 6749 §3.2)")
        }
        guard let text = String(validating: try await body(request), as: UTF8.self), let form = FormParameters(encoded: text) else {
            throw OAuthError(.invalidRequest, "the form body is not valid UTF-8 application/x-www-form-urlencoded")
        }
        return form
    }

    /// The request body, at most ``maxBodyBytes``. A larger declared length is refused at once,
    /// without waiting for a body that will be refused anyway.
    static func body(_ request: Request) async throws(OAuthError) -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBodyBytes {
            throw OAuthError(.invalidRequest, "the request body is larger than \(maxBodyBytes) bytes")
        }
        do {
            return Array(try await request.body.collect(upTo: maxBodyBytes).readableBytesView)
        } catch {
            throw OAuthError(.invalidRequest, "the request body is larger than \(maxBodyBytes) bytes")
        }
    }
}
