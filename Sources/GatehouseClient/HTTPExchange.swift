import AsyncHTTPClient
import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1

/// The HTTP requests the client makes: bounded in time and size, never following redirects
/// (a redirect from a discovery or token endpoint is a misconfiguration to report, not follow).
public struct HTTPExchange: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    let client: HTTPClient
    let timeout: TimeAmount
    let maxBytes: Int

    public static let shared = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    public init(client: HTTPClient = HTTPExchange.shared, timeout: Duration = .seconds(15), maxBytes: Int = 4 << 20) {
        self.client = client
        self.timeout = .seconds(timeout.components.seconds)
        self.maxBytes = maxBytes
    }

    /// Sends a request; transport failures become a ``ClientError`` naming the URL.
    public func send(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: Data? = nil
    ) async throws(ClientError) -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "gatehouse-client")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let collected = try await response.body.collect(upTo: maxBytes)
            return Response(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw ClientError("\(url) answered with more than \(maxBytes) bytes")
        } catch {
            throw ClientError("cannot reach \(url): \(error)")
        }
    }

    /// POSTs `form` as `application/x-www-form-urlencoded`.
    public func postForm(_ url: String, _ form: [(String, String)], headers: [(String, String)] = []) async throws(ClientError) -> Response {
        let body = URLEncoding.formBody(form)
        return try await send(
            url, method: .POST,
            headers: headers + [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(body.utf8))
    }
}
