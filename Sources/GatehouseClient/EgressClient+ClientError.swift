import Foundation
import GatehouseEgress
import NIOHTTP1

extension EgressClient {
    /// How the client talks to MCP and authorization servers: any http(s) URL a person points
    /// it at, 15 s per request, 4 MiB per response.
    public static let clientDefault = EgressClient(timeout: .seconds(15), maxBytes: 4 << 20, policy: .anyHTTP)

    /// ``send(_:method:headers:body:)`` with a failure as a ``ClientError``.
    func exchange(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: Data? = nil
    ) async throws(ClientError) -> Response {
        do {
            return try await send(url, method: method, headers: headers, body: body)
        } catch {
            throw ClientError(error.description)
        }
    }

    /// ``postForm(_:form:headers:)`` with a failure as a ``ClientError``.
    func exchangeForm(_ url: String, _ form: [(String, String)], headers: [(String, String)] = []) async throws(ClientError) -> Response {
        do {
            return try await postForm(url, form: form, headers: headers)
        } catch {
            throw ClientError(error.description)
        }
    }
}
