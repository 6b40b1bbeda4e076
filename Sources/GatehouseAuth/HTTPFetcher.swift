import AsyncHTTPClient
import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Bounded HTTP requests to a token provider: JWKS, metadata, introspection, userinfo.
///
/// Every request has a deadline and a response-size cap, follows no redirects, and is
/// allowed only to https URLs or loopback http (what configuration validation accepts).
public struct HTTPFetcher: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case refusedURL(String)
        case tooLarge(String)
        case transport(String)

        public var description: String {
            switch self {
            case .refusedURL(let url): "refused to fetch \(url): only https, or http on loopback, is allowed"
            case .tooLarge(let url): "the response from \(url) is larger than allowed"
            case .transport(let detail): detail
            }
        }
    }

    let client: HTTPClient
    let timeout: TimeAmount
    let maxBytes: Int

    /// A process-wide client that never follows redirects: a provider endpoint that
    /// redirects is misconfigured, and following it would widen where Gatehouse connects.
    /// A refused connection fails at once (AsyncHTTPClient would retry until the deadline and
    /// make a provider that is down cost every request the whole timeout); callers retry on
    /// their own schedule (the JWKS cache's interval).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = .seconds(3)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(client: HTTPClient = HTTPFetcher.sharedClient, timeout: Duration = .seconds(5), maxBytes: Int = 512 * 1024) {
        self.client = client
        self.timeout = .seconds(timeout.components.seconds)
        self.maxBytes = maxBytes
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws(Failure) -> Response {
        try await send(url, method: .GET, headers: headers, body: nil)
    }

    /// POSTs `form` as `application/x-www-form-urlencoded`.
    public func postForm(_ url: String, form: [(String, String)], headers: [(String, String)] = []) async throws(Failure) -> Response {
        let body = URLEncoding.formBody(form)
        return try await send(
            url, method: .POST, headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: body)
    }

    private func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: String?) async throws(Failure) -> Response {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host,
            scheme == "https" || (scheme == "http" && HostName.isLoopback(host))
        else { throw .refusedURL(url) }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "gatehouse/\(Gatehouse.version)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: maxBytes)
            return Response(status: Int(response.status.code), body: Data(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw .tooLarge(url)
        } catch {
            throw .transport("cannot reach \(url): \(Self.reason(error))")
        }
    }

    /// A short, readable reason for a transport error (NIO's descriptions nest and repeat).
    static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "the connection timed out"
            case .deadlineExceeded, .readTimeout: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: break
            }
        }
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty { return "the host name does not resolve" }
            if let first = error.connectionErrors.first { return reason(first.error) }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }
}
