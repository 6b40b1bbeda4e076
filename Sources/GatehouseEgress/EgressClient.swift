import AsyncHTTPClient
import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Every HTTP request Gatehouse sends out: to token providers (metadata, JWKS, introspection,
/// userinfo), to Client ID Metadata Documents, for users' `http_fetch` tools, and from the
/// client commands.
///
/// Each request has a deadline and a response-size cap and follows no redirects (a provider or
/// discovery endpoint that redirects is misconfigured, and following it would widen where
/// Gatehouse connects). A refused connection fails at once, with a short reason, instead of
/// being retried until the deadline.
public struct EgressClient: Sendable {
    /// A response, its body read within the cap.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data

        public init(status: Int, headers: HTTPHeaders = [:], body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Why a request failed; the description names the URL and says what happened.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case refusedURL(String)
        /// The host resolves to a loopback or private address, under ``URLPolicy/publicHTTPS``.
        case privateAddress(url: String, reason: String)
        case tooLarge(String, maxBytes: Int)
        case transport(url: String, reason: String)

        public var description: String {
            switch self {
            case .refusedURL(let url): "refused to fetch \(url): that scheme or host is not allowed here"
            case .privateAddress(let url, let reason): "refused to fetch \(url): \(reason)"
            case .tooLarge(let url, let maxBytes): "\(url) answered with more than \(maxBytes) bytes"
            case .transport(let url, let reason): "cannot reach \(url): \(reason)"
            }
        }
    }

    /// Which URLs may be fetched.
    public enum URLPolicy: Sendable {
        /// https anywhere, http on loopback only: what servers fetch (providers, documents).
        case httpsOrLoopbackHTTP
        /// http or https anywhere: what a person's client command is pointed at.
        case anyHTTP
        /// https to hosts that resolve to public addresses only: what the server fetches on a
        /// user's say-so (the MCP servers users connect, and every URL those publish), so a user
        /// cannot reach the server's own network through it. The check is at resolution time.
        case publicHTTPS
    }

    /// The process-wide connection pool: no redirects, 3 s to connect, no retrying of refused
    /// connections (callers retry on their own schedule, e.g. the JWKS cache's interval).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = .seconds(3)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    let client: HTTPClient
    let timeout: Duration
    let maxBytes: Int
    let policy: URLPolicy

    public init(
        timeout: Duration = .seconds(5), maxBytes: Int = 512 * 1024, policy: URLPolicy = .httpsOrLoopbackHTTP,
        client: HTTPClient = EgressClient.sharedClient
    ) {
        self.client = client
        self.timeout = timeout
        self.maxBytes = maxBytes
        self.policy = policy
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws(Failure) -> Response {
        try await send(url, headers: [("Accept", "application/json")] + headers)
    }

    /// POSTs `form` as `application/x-www-form-urlencoded`, asking for JSON.
    public func postForm(_ url: String, form: [(String, String)], headers: [(String, String)] = []) async throws(Failure) -> Response {
        try await send(
            url, method: .POST,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")] + headers,
            body: Data(URLEncoding.formBody(form).utf8))
    }

    /// Sends a request and reads the response body within the cap.
    public func send(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: Data? = nil
    ) async throws(Failure) -> Response {
        let request = try self.request(url, method: method, headers: headers, body: body)
        try await checkAddress(url)
        do {
            let response = try await execute(request)
            let collected = try await response.body.collect(upTo: maxBytes)
            return Response(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw .tooLarge(url, maxBytes: maxBytes)
        } catch {
            throw .transport(url: url, reason: Self.reason(error))
        }
    }

    /// A response whose body is read as it arrives (server-sent events), each chunk within the cap.
    public struct Stream: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: HTTPClientResponse.Body
    }

    /// Sends a request and returns as soon as the response head arrives; the body streams. The
    /// deadline covers the whole exchange, body included.
    public func stream(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: Data? = nil
    ) async throws(Failure) -> Stream {
        let request = try self.request(url, method: method, headers: headers, body: body)
        try await checkAddress(url)
        do {
            let response = try await execute(request)
            return Stream(status: Int(response.status.code), headers: response.headers, body: response.body)
        } catch {
            throw .transport(url: url, reason: Self.reason(error))
        }
    }

    /// Executes `request`, once more when the pooled connection it was given had just been closed
    /// by the server: a keep-alive race in which the request never left (safe to send again), or,
    /// for a GET or HEAD, which may be repeated anyway (RFC 9110 §9.2.2), closed as it was sent.
    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await client.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        } catch ChannelError.ioOnClosedChannel {
            return try await client.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        } catch let error as HTTPClientError where error == .remoteConnectionClosed && [.GET, .HEAD].contains(request.method) {
            return try await client.execute(request, timeout: .nanoseconds(timeout.inNanoseconds))
        }
    }

    /// The request to send, once the policy allows `url`.
    private func request(
        _ url: String, method: HTTPMethod, headers: [(String, String)], body: Data?
    ) throws(Failure) -> HTTPClientRequest {
        guard allows(url) else { throw .refusedURL(url) }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "gatehouse/\(Gatehouse.version)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return request
    }

    private func allows(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host
        else { return false }
        switch policy {
        case .httpsOrLoopbackHTTP: return scheme == "https" || (scheme == "http" && HostName.isLoopback(host))
        case .anyHTTP: return scheme == "https" || scheme == "http"
        case .publicHTTPS: return scheme == "https"
        }
    }

    /// Under ``URLPolicy/publicHTTPS``, refuses a host that resolves to a non-public address.
    private func checkAddress(_ url: String) async throws(Failure) {
        guard case .publicHTTPS = policy, let host = URLComponents(string: url)?.host else { return }
        if let refusal = await AddressPolicy.refusal(forHost: host) { throw .privateAddress(url: url, reason: refusal) }
    }

    /// A short, readable reason for a transport error (NIO's descriptions nest and repeat).
    public static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "the connection timed out"
            case .deadlineExceeded, .readTimeout: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: break
            }
        }
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name does not resolve" }
            if let first = error.connectionErrors.first { return reason(first.error) }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }
}
