import Foundation

/// The rule of the MCP endpoint's rate limits, as a value: which buckets one request counts
/// against, and whether the counts refuse it.
public struct RateLimitPolicy: Sendable {
    /// A limit one request counts against.
    public struct Charge: Sendable, Equatable {
        /// What the limit applies to, for the error: `user`, `client` or `tool`.
        public var scope: String
        public var hit: RateHit
        public var limit: RateLimit
        /// The tool, for `tool`.
        public var tool: String?
    }

    /// Why a request is refused: the first limit it went over.
    public struct Refusal: Sendable, Equatable {
        public var scope: String
        public var limit: RateLimit
        /// Seconds until that limit's window ends.
        public var retryAfter: Int
        /// The tool whose limit it is, for `tool`.
        public var tool: String?

        public init(scope: String, limit: RateLimit, retryAfter: Int, tool: String?) {
            self.scope = scope
            self.limit = limit
            self.retryAfter = retryAfter
            self.tool = tool
        }

        /// What the client is told.
        public var message: String {
            let subject = switch scope {
            case "client": "all users of this client"
            case "tool": "calls of \(tool ?? "this tool") by one user"
            default: "one user"
            }
            return "rate limit reached: at most \(limit.inWords) for \(subject); retry after \(retryAfter) s"
        }
    }

    public let settings: RateLimitSettings

    public init(settings: RateLimitSettings) {
        self.settings = settings
    }

    /// True when calls of some tools are limited (the request's tool must be known).
    public var limitsTools: Bool { !settings.perTool.isEmpty }

    /// The limits a request by `principal` from `address` counts against; `tool` is the tool a
    /// `tools/call` names.
    public func charges(principal: Principal, address: String, tool: String?) -> [Charge] {
        let user = principal.isAnonymous
            ? "address:" + ClientAddress.limitKey(address)
            : "user:" + (principal.issuer ?? "") + "|" + principal.subject
        func charge(_ scope: String, _ key: String, _ limit: RateLimit, tool: String? = nil) -> Charge {
            Charge(scope: scope, hit: RateHit(key: key, windowSeconds: limit.windowSeconds), limit: limit, tool: tool)
        }
        var charges: [Charge] = []
        if let limit = settings.perUser { charges.append(charge("user", "mcp:" + user, limit)) }
        if let limit = settings.perClient, let client = principal.clientID { charges.append(charge("client", "mcp:client:" + client, limit)) }
        if let tool, let limit = settings.perTool[tool] { charges.append(charge("tool", "mcp:tool:\(tool):" + user, limit, tool: tool)) }
        return charges
    }

    /// The refusal of a request whose `charges` have counted `counts` (this request included),
    /// or `nil` when every count is within its limit.
    public func decide(_ charges: [Charge], counts: [RateCount], now: Date) -> Refusal? {
        zip(charges, counts).first { charge, count in count.events > charge.limit.events }.map { charge, count in
            Refusal(
                scope: charge.scope, limit: charge.limit, retryAfter: count.secondsLeft(windowSeconds: charge.limit.windowSeconds, now: now),
                tool: charge.tool)
        }
    }
}
