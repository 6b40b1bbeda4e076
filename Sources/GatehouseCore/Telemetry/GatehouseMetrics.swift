import CoreMetrics
import Foundation

/// Every metric Gatehouse records, in one place: names, labels and what they count
/// (docs/operations.md lists them). Recorded through swift-metrics, so whatever backend the
/// process bootstrapped receives them (`gatehouse hub --metrics-port` serves Prometheus).
///
/// Labels are low-cardinality by construction: routes are the router's patterns, reasons and
/// outcomes are fixed codes, tools and upstreams are names an operator configured. Never a
/// user id, client id, token or raw path.
public enum GatehouseMetrics {
    /// One HTTP request: `gatehouse_http_requests_total{route,method,status}` and
    /// `gatehouse_http_request_duration_seconds{route,method}`.
    public static func httpRequest(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "gatehouse_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))])
            .increment()
        Timer(label: "gatehouse_http_request_duration_seconds", dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(duration.inNanoseconds)
    }

    /// A bearer token checked at the MCP endpoint: `gatehouse_auth_decisions_total{outcome,reason}`;
    /// outcome `accepted`, `refused`, `insufficient_scope` or `unavailable`, reason a
    /// ``TokenRefusal``-style code (`expired`, `audience`, …) or `none`.
    public static func authDecision(outcome: String, reason: String = "none") {
        Counter(label: "gatehouse_auth_decisions_total", dimensions: [("outcome", outcome), ("reason", reason)]).increment()
    }

    /// A `tools/call`: `gatehouse_tool_calls_total{tool,outcome}` (`ok`, `error`: the tool said
    /// isError, `failed`: a JSON-RPC error) and `gatehouse_tool_call_duration_seconds{tool}`.
    public static func toolCall(tool: String, outcome: String, duration: Duration) {
        Counter(label: "gatehouse_tool_calls_total", dimensions: [("tool", tool), ("outcome", outcome)]).increment()
        Timer(label: "gatehouse_tool_call_duration_seconds", dimensions: [("tool", tool)]).recordNanoseconds(duration.inNanoseconds)
    }

    /// A fetch from an identity provider: `gatehouse_provider_fetches_total{kind,outcome}`, kind
    /// `jwks`, `metadata`, `introspection`, `userinfo`, `client_metadata`, `upstream_token`…
    public static func providerFetch(kind: String, outcome: String, duration: Duration) {
        Counter(label: "gatehouse_provider_fetches_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
        Timer(label: "gatehouse_provider_fetch_duration_seconds", dimensions: [("kind", kind)]).recordNanoseconds(duration.inNanoseconds)
    }

    /// Runs `fetch`, recording it as a provider fetch of `kind`: `ok` when it returns, `failed`
    /// when it throws (the error goes on).
    public static func timedFetch<T: Sendable>(_ kind: String, _ fetch: @Sendable () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await fetch()
            providerFetch(kind: kind, outcome: "ok", duration: started.elapsed)
            return result
        } catch {
            providerFetch(kind: kind, outcome: "failed", duration: started.elapsed)
            throw error
        }
    }

    /// A sign-in at the embedded authorization server: `gatehouse_sign_ins_total{method,outcome}`,
    /// method `password` or `upstream`, outcome `succeeded`, `failed`, `throttled`, `denied`.
    public static func signIn(method: String, outcome: String) {
        Counter(label: "gatehouse_sign_ins_total", dimensions: [("method", method), ("outcome", outcome)]).increment()
    }

    /// A token-endpoint request: `gatehouse_token_requests_total{grant_type,outcome}`, outcome
    /// `issued` or the OAuth error code.
    public static func tokenRequest(grantType: String, outcome: String) {
        Counter(label: "gatehouse_token_requests_total", dimensions: [("grant_type", grantType), ("outcome", outcome)]).increment()
    }

    /// One store operation: `gatehouse_store_operation_duration_seconds{backend,kind}`, kind
    /// `read` or `write`; failures also count in `gatehouse_store_errors_total{backend}`.
    public static func storeOperation(backend: String, kind: String, duration: Duration, failed: Bool) {
        Timer(label: "gatehouse_store_operation_duration_seconds", dimensions: [("backend", backend), ("kind", kind)])
            .recordNanoseconds(duration.inNanoseconds)
        if failed { Counter(label: "gatehouse_store_errors_total", dimensions: [("backend", backend)]).increment() }
    }

    /// Session-era MCP sessions this process holds: `gatehouse_mcp_sessions_active`.
    public static func activeSessions(_ count: Int) {
        Gauge(label: "gatehouse_mcp_sessions_active").record(count)
    }

    /// A gateway upstream's health: `gatehouse_gateway_upstream_up{upstream}` (1 or 0).
    public static func upstreamUp(_ upstream: String, _ up: Bool) {
        Gauge(label: "gatehouse_gateway_upstream_up", dimensions: [("upstream", upstream)]).record(up ? 1 : 0)
    }

    /// A request the gateway sent upstream: `gatehouse_gateway_upstream_requests_total{upstream,outcome}`
    /// and `gatehouse_gateway_upstream_duration_seconds{upstream}`.
    public static func upstreamRequest(_ upstream: String, outcome: String, duration: Duration) {
        Counter(label: "gatehouse_gateway_upstream_requests_total", dimensions: [("upstream", upstream), ("outcome", outcome)]).increment()
        Timer(label: "gatehouse_gateway_upstream_duration_seconds", dimensions: [("upstream", upstream)]).recordNanoseconds(duration.inNanoseconds)
    }

    /// A request refused by a rate limit: `gatehouse_rate_limited_total{limit}` (`user`, `client`,
    /// `tool`, `registration`).
    public static func rateLimited(_ limit: String) {
        Counter(label: "gatehouse_rate_limited_total", dimensions: [("limit", limit)]).increment()
    }
}

extension ContinuousClock.Instant {
    /// The time since this instant, for a duration metric.
    public var elapsed: Duration { ContinuousClock.now - self }
}
