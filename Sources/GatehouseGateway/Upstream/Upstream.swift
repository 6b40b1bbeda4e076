import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseMCP
import Logging

/// One configured upstream at run time: its channels, its health, and its lists.
///
/// HTTP upstreams that keep sessions get one channel (one upstream session) per downstream
/// session, or per caller for stateless clients; a stateless upstream needs one channel for all.
/// A stdio upstream is one process for all.
///
/// Health: a failure that says the upstream is down (cannot connect, silent past the timeout,
/// cannot start) marks it down; while its backoff lasts, its tools leave the lists and calls
/// to it fail at once. The next request after the backoff, or the gateway's periodic check,
/// tries again.
actor Upstream {
    enum Era: Sendable { case session, stateless }

    /// Which channel serves a request.
    enum ChannelKey: Hashable, Sendable {
        /// The channel of one downstream session.
        case session(String)
        /// The channel of one stateless caller toward an upstream that keeps sessions.
        case caller(issuer: String?, subject: String)
        /// The one channel everyone shares: a stateless upstream, or a stdio process.
        case shared
    }

    struct Health: Sendable {
        enum State: String, Sendable { case unknown, up, down }
        var state: State = .unknown
        var reason: String?
        var since: ContinuousClock.Instant = .now
        var failures = 0
    }

    let spec: UpstreamSpec
    let logger: Logger
    private let http: HTTPClient?
    private let identity: IdentityHeaders
    private let backoff = Backoff()
    private let maxChannels: Int
    private var era: Era?
    /// Set when an upstream that offers 2026-07-28 refused `initialize`: everyone goes stateless.
    private var refusesSessions = false
    /// The one probe of the upstream's era in flight, which concurrent first requests share.
    private var probing: Task<Era, any Error>?
    private var channels: [ChannelKey: (channel: any UpstreamChannel, lastUsed: ContinuousClock.Instant)] = [:]
    private var stdio: StdioChannel?
    private(set) var health = Health()

    init(spec: UpstreamSpec, http: HTTPClient?, minter: (any UpstreamTokenMinter)?, maxChannels: Int, logger: Logger) {
        self.spec = spec
        self.http = http
        self.maxChannels = maxChannels
        self.logger = logger
        let audience: String = switch spec.transport {
        case .streamableHTTP(let url), .legacySSE(let url): url
        case .stdio: "urn:gatehouse:upstream:\(spec.name)"
        }
        self.identity = IdentityHeaders(identity: spec.identity, audience: audience, minter: minter)
    }

    /// Sends `request`; failures update the health.
    func send(_ request: UpstreamRequest, key: ChannelKey, clientCapabilities: JSONValue, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        if health.state == .down, let wait = backoff.remaining(after: health.since, failures: health.failures) {
            throw .unavailable("it is down (\(health.reason ?? "unknown reason")); the next try is in \(wait.components.seconds + 1) s")
        }
        let started = ContinuousClock.now
        do {
            let channel = try await channel(for: key, clientCapabilities: clientCapabilities, caller: request.caller)
            let reply: UpstreamReply
            do {
                reply = try await channel.send(request, relay: relay)
            } catch .sessionsRefused(let reason) where era == .stateless && spec.protocolChoice == .auto {
                // It offers only the stateless protocol after all: stop asking for sessions.
                logger.info("upstream serves no sessions; using 2026-07-28 for everyone", metadata: ["upstream": "\(spec.name)", "reason": "\(reason)"])
                refusesSessions = true
                channels[key] = nil
                reply = try await self.channel(for: key, clientCapabilities: clientCapabilities, caller: request.caller).send(request, relay: relay)
            }
            recordSuccess()
            GatehouseMetrics.upstreamRequest(spec.name, outcome: "ok", duration: started.elapsed)
            return reply
        } catch {
            if error.marksDown { recordFailure(error) }
            GatehouseMetrics.upstreamRequest(spec.name, outcome: error.marksDown ? "down" : "failed", duration: started.elapsed)
            throw error
        }
    }

    /// Ends the upstream sessions a downstream session owned.
    func sessionEnded(_ id: String) async {
        guard let entry = channels.removeValue(forKey: .session(id)) else { return }
        await entry.channel.close()
    }

    /// Checks whether a down upstream answers again (any HTTP answer, or the process starting).
    func checkIfDown() async {
        guard health.state == .down, backoff.remaining(after: health.since, failures: health.failures) == nil else { return }
        switch spec.transport {
        case .stdio:
            _ = try? await send(UpstreamRequest(method: "ping", params: [:], caller: .anonymous), key: .shared, clientCapabilities: .object([:]), relay: .none)
        case .streamableHTTP(let url), .legacySSE(let url):
            guard let http else { return }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "application/json, text/event-stream")
            request.body = .bytes(.init(string: #"{"jsonrpc":"2.0","id":"gw-health","method":"ping"}"#))
            do {
                let response = try await http.execute(request, timeout: .seconds(3))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                era = nil  // it may have been replaced by a server of the other era
                recordSuccess()
            } catch {
                recordFailure(StreamableHTTPChannel.failure(error, timeout: spec.timeout))
            }
        }
    }

    /// Ends upstream sessions unused for `idle` (their downstream sessions expired without a `DELETE`).
    func sweep(idle: Duration) async {
        let cutoff = ContinuousClock.now - idle
        let stale = channels.filter { $0.value.lastUsed < cutoff }
        for (key, entry) in stale {
            channels[key] = nil
            await entry.channel.close()
        }
    }

    func close() async {
        for entry in channels.values { await entry.channel.close() }
        channels = [:]
        await stdio?.close()
    }

    // MARK: Channels

    private func channel(for key: ChannelKey, clientCapabilities: JSONValue, caller: Caller) async throws(UpstreamFailure) -> any UpstreamChannel {
        switch spec.transport {
        case .stdio(let command):
            if let stdio { return stdio }
            let channel = StdioChannel(name: spec.name, command: command, timeout: spec.timeout, logger: logger)
            stdio = channel
            return channel
        case .streamableHTTP(let url):
            guard let http else { throw .unavailable("no HTTP client") }
            let era = try await self.era(url: url, http: http, caller: caller)
            let capabilities = StreamableHTTPChannel.relayable(clientCapabilities)
            // In auto mode a downstream session gets an upstream session even where the upstream
            // also offers 2026-07-28: only a session carries the upstream's requests (elicitation,
            // sampling, roots) to a 2025-era client, and servers serve their sessions no slower
            // (FastMCP's are faster). Stateless clients share the stateless channel.
            let useSession = era == .session || (spec.protocolChoice == .auto && Self.isSession(key) && !refusesSessions)
            let channelKey: ChannelKey = useSession ? key : .shared
            if let channel = reuse(channelKey) { return channel }
            let mode: StreamableHTTPChannel.Mode =
                useSession ? .session(clientCapabilities: capabilities) : .stateless(clientCapabilities: .object([:]))
            let channel = StreamableHTTPChannel(url: url, mode: mode, http: http, timeout: spec.timeout, identity: identity)
            return await keep(channel, as: channelKey)
        case .legacySSE(let url):
            guard let http else { throw .unavailable("no HTTP client") }
            if let channel = reuse(key) { return channel }
            let channel = LegacySSEChannel(
                url: url, http: http, timeout: spec.timeout, identity: identity, clientCapabilities: clientCapabilities)
            return await keep(channel, as: key)
        }
    }

    private static func isSession(_ key: ChannelKey) -> Bool {
        if case .session = key { return true }
        return false
    }

    private func reuse(_ key: ChannelKey) -> (any UpstreamChannel)? {
        guard var entry = channels[key] else { return nil }
        entry.lastUsed = .now
        channels[key] = entry
        return entry.channel
    }

    private func keep(_ channel: any UpstreamChannel, as key: ChannelKey) async -> any UpstreamChannel {
        if channels.count >= maxChannels { await evictOldest() }
        channels[key] = (channel, .now)
        return channel
    }

    private func era(url: String, http: HTTPClient, caller: Caller) async throws(UpstreamFailure) -> Era {
        if let era { return era }
        let found: Era
        switch spec.protocolChoice {
        case .session: found = .session
        case .stateless: found = .stateless
        case .auto:
            let probe = probing ?? Task { [identity, spec] in
                let stateless = try await StreamableHTTPChannel.probeStateless(
                    url: url, http: http, timeout: spec.timeout, identity: identity, caller: caller)
                return stateless ? Era.stateless : .session
            }
            probing = probe
            defer { probing = nil }
            do {
                found = try await probe.value
            } catch {
                throw error as? UpstreamFailure ?? .unreachable("\(error)")
            }
            logger.info("upstream protocol found", metadata: ["upstream": "\(spec.name)", "era": "\(found)"])
        }
        era = found
        return found
    }

    private func evictOldest() async {
        guard let oldest = channels.min(by: { $0.value.lastUsed < $1.value.lastUsed }) else { return }
        channels[oldest.key] = nil
        await oldest.value.channel.close()
    }

    // MARK: Health

    private func recordSuccess() {
        guard health.state != .up else { return }
        if health.state == .down { logger.info("upstream is up again", metadata: ["upstream": "\(spec.name)"]) }
        health = Health(state: .up, reason: nil, since: .now, failures: 0)
        GatehouseMetrics.upstreamUp(spec.name, true)
    }

    private func recordFailure(_ failure: UpstreamFailure) {
        let wasDown = health.state == .down
        health.failures += 1
        health.state = .down
        health.reason = failure.description
        health.since = .now
        if !wasDown { logger.warning("upstream is down", metadata: ["upstream": "\(spec.name)", "reason": "\(failure)"]) }
        GatehouseMetrics.upstreamUp(spec.name, false)
    }
}
