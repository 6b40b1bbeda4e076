import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseMCP
import Logging

/// The MCP service of `gatehouse gateway`: one MCP server made of several upstream servers.
///
/// Lists (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`) ask every
/// upstream that is not down, at once, and join the answers under namespaced names
/// (``Namespace``), keeping only what the caller may use (``AccessRule``). Calls go to the one
/// upstream a name or URI belongs to, with the upstream's own name, the caller's identity as the
/// upstream is configured to receive it, and a relay for what the upstream sends before its
/// answer. The caller's own token never leaves the gateway.
public final class GatewayService: MCPService {
    public let serverInfo: MCPServerInfo
    let upstreams: [String: Upstream]
    let order: [String]
    let namespace: Namespace
    let http: HTTPClient
    let logger: Logger
    /// Upstream sessions unused this long are ended (their downstream sessions expired).
    let sessionIdleTimeout: Duration
    /// Tool names the upstreams have, for metric labels.
    let knownTools = KnownToolNames()

    static let capabilities: JSONValue = [
        "tools": ["listChanged": false], "resources": ["listChanged": false], "prompts": ["listChanged": false], "completions": [:],
    ]

    /// - Parameters:
    ///   - minter: signs the upstream tokens of ``UpstreamIdentity/mintedToken(audience:lifetime:)``.
    ///   - maxChannelsPerUpstream: upstream sessions kept per upstream; the least recently used goes first.
    ///   - sessionIdleTimeout: upstream sessions unused this long are ended.
    public init(
        upstreams specs: [UpstreamSpec], serverInfo: MCPServerInfo, minter: (any UpstreamTokenMinter)?,
        maxChannelsPerUpstream: Int = 10_000, sessionIdleTimeout: Duration = .seconds(3600), logger: Logger
    ) {
        self.sessionIdleTimeout = sessionIdleTimeout
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = .seconds(3)
        // The read timeout bounds the silence between two pieces of an answer: the longest upstream timeout.
        let longest = specs.map(\.timeout).max() ?? .seconds(60)
        configuration.timeout.read = .nanoseconds(longest.inNanoseconds)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.serverInfo = serverInfo
        self.logger = logger
        order = specs.map(\.name)
        namespace = Namespace(upstreams: order, transparent: specs.first(where: \.transparent)?.name)
        var upstreams: [String: Upstream] = [:]
        for spec in specs {
            upstreams[spec.name] = Upstream(
                spec: spec, http: http, minter: minter, maxChannels: maxChannelsPerUpstream, logger: logger)
        }
        self.upstreams = upstreams
    }

    public func initializeResult(version: ProtocolVersion) -> any JSONRPCResult {
        ServiceResults.initialize(version: version, capabilities: Self.capabilities, serverInfo: serverInfo)
    }

    /// Anything forwarded may bring messages from the upstream before its answer.
    public func mayMessageClient(while request: JSONRPCRequest) -> Bool {
        switch request.method {
        case "tools/call", "prompts/get", "resources/read", "completion/complete": true
        default: false
        }
    }

    public func sessionEnded(_ id: String) async {
        for upstream in upstreams.values { await upstream.sessionEnded(id) }
    }

    public func handle(_ request: JSONRPCRequest, in environment: MCPRequestEnvironment) async -> JSONRPCResponse {
        let version = environment.protocolVersion
        switch (request.method, version.isSessionEra) {
        case ("ping", true), ("logging/setLevel", true):
            return JSONRPCResponse(id: request.id, result: ServiceResults.empty(version: version, serverInfo: serverInfo))
        case ("server/discover", false):
            return JSONRPCResponse(
                id: request.id, result: ServiceResults.discover(capabilities: Self.capabilities, serverInfo: serverInfo))
        case ("tools/list", _), ("prompts/list", _), ("resources/list", _), ("resources/templates/list", _):
            return await list(request, in: environment)
        case ("tools/call", _):
            let started = ContinuousClock.now
            let response = await callNamed(request, in: environment)
            let outcome = Self.outcomeLabel(response)
            ToolCallTelemetry.record(
                tool: toolLabel(request, outcome: outcome), outcome: outcome, principal: environment.principal, duration: started.elapsed,
                params: request.params)
            return response
        case ("prompts/get", _):
            return await callNamed(request, in: environment)
        case ("resources/read", _):
            return await readResource(request, in: environment)
        case ("completion/complete", _):
            return await complete(request, in: environment)
        default:
            return JSONRPCResponse(id: request.id, error: .methodNotFound(request.method))
        }
    }

    /// Every upstream's health, for `/healthz`.
    public func health() async -> [UpstreamHealth] {
        var report: [UpstreamHealth] = []
        for name in order {
            guard let upstream = upstreams[name] else { continue }
            let health = await upstream.health
            report.append(UpstreamHealth(name: name, state: health.state.rawValue, reason: health.reason))
        }
        return report
    }

    /// Runs until cancelled: every few seconds, upstreams that are down and past their backoff
    /// are checked, so they come back without waiting for a request, and idle upstream sessions end.
    public func run(checkEvery interval: Duration = .seconds(5)) async {
        while (try? await Task.sleep(for: interval)) != nil {
            for upstream in upstreams.values {
                await upstream.checkIfDown()
                await upstream.sweep(idle: sessionIdleTimeout)
            }
        }
    }

    /// Ends upstream sessions, stops stdio servers and closes connections.
    public func shutdown() async {
        for upstream in upstreams.values { await upstream.close() }
        try? await http.shutdown()
    }
}

/// One upstream's line in `/healthz`.
public struct UpstreamHealth: Sendable, Equatable {
    public var name: String
    /// `up`, `down`, or `unknown` before the first request.
    public var state: String
    public var reason: String?
}
