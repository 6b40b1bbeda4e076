import Foundation
import GatehouseCore
import GatehouseMCP
import HTTPTypes
import Hummingbird

/// Applies the MCP endpoint's rate limits (``RateLimitPolicy``) after authentication: each
/// request counts against its user's, its client's and, for a limited tool, that tool's bucket
/// in the store's ``RateCounter``, and one over a limit gets HTTP 429 with `Retry-After` and a
/// JSON-RPC error (``JSONRPCError/rateLimitedCode``) saying which limit and for how long.
///
/// When tools are limited, a POST's body is read here to find the `tools/call` (and its id, so
/// the error answers it). A counter that cannot count (the database is down) lets the request
/// through: the limits protect the service, they do not take it down.
struct RateLimitMiddleware<Context: GatehouseContext>: RouterMiddleware {
    let policy: RateLimitPolicy
    let counter: any RateCounter
    let maxBodyBytes: Int
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        var call = ToolCallPeek()
        if policy.limitsTools, request.method == .post,
            (request.headers[.contentLength].flatMap(Int.init) ?? 0) <= maxBodyBytes
        {
            do {
                call = ToolCallPeek(body: try await request.collectBody(upTo: maxBodyBytes))
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                return MCPRoute.tooLarge(maxBodyBytes)
            }
        }
        let charges = policy.charges(principal: context.principal, address: context.remoteIP, tool: call.tool)
        guard !charges.isEmpty else { return try await next(request, context) }
        let current = now()
        let counts: [RateCount]
        do {
            counts = try await counter.count(charges.map(\.hit), at: current)
        } catch {
            context.logger.warning("cannot count rate limits; the request goes on", metadata: ["error": "\(error)"])
            return try await next(request, context)
        }
        guard let refusal = policy.decide(charges, counts: counts, now: current) else { return try await next(request, context) }
        context.logger.info(
            "rate limited", metadata: ["event": "rate_limited", "limit": "\(refusal.scope)", "tool": "\(refusal.tool ?? "")"])
        GatehouseMetrics.rateLimited(refusal.scope)
        let principal = context.principal
        AuditLog.record(
            .rateLimited,
            [
                "limit": .string(refusal.scope), "tool": .audit(refusal.tool), "sub": .audit(principal.isAnonymous ? nil : principal.subject),
                "iss": .audit(principal.issuer), "client_id": .audit(principal.clientID), "address": .string(context.remoteIP),
            ])
        return Self.response(refusal, id: call.id)
    }

    /// 429 with `Retry-After` (RFC 6585 §4) and the JSON-RPC error.
    static func response(_ refusal: RateLimitPolicy.Refusal, id: GatehouseMCP.RequestID?) -> Response {
        var data: [String: JSONValue] = [
            "limit": .string(refusal.scope), "allowed": .string(refusal.limit.description), "retryAfter": .int(refusal.retryAfter),
        ]
        if let tool = refusal.tool { data["tool"] = .string(tool) }
        var response = Response(mcp: .failure(.tooManyRequests, .rateLimited(refusal.message, data: .object(data)), id: id))
        response.headers[.retryAfter] = "\(refusal.retryAfter)"
        return response
    }
}

/// The id and tool name of a `tools/call` request body; both `nil` for anything else.
struct ToolCallPeek {
    var id: GatehouseMCP.RequestID?
    var tool: String?

    init() {}

    init(body: ByteBuffer) {
        guard let value = try? JSONValue.parse(Data(body.readableBytesView)),
            case .request(let request)? = try? JSONRPCMessage(value)
        else { return }
        id = request.id
        if request.method == "tools/call", case .string(let name)? = request.params["name"] { tool = name }
    }
}
