import Foundation
import GatehouseCore
import Testing

@Suite("Rate limits")
struct RateLimitTests {
    private let noon = Date(timeIntervalSince1970: 1_800_000_000)  // a whole minute and hour

    @Test func limitsParseInTheirUsualSpellings() {
        #expect(RateLimit(parsing: "600/min") == RateLimit(events: 600, windowSeconds: 60))
        #expect(RateLimit(parsing: " 5 / s ") == RateLimit(events: 5, windowSeconds: 1))
        #expect(RateLimit(parsing: "100/hour") == RateLimit(events: 100, windowSeconds: 3600))
        #expect(RateLimit(parsing: "2/DAY") == RateLimit(events: 2, windowSeconds: 86_400))
        for bad in ["", "600", "0/min", "-1/min", "ten/min", "5/week", "5/min/x"] {
            #expect(RateLimit(parsing: bad) == nil, "\(bad)")
        }
        #expect(RateLimit(events: 60, windowSeconds: 60).inWords == "60 per minute")
    }

    @Test func aWindowOpensAtItsBucketsFirstEventAndRetryAfterCountsToItsEnd() {
        let counter = LocalRateCounter()
        let a = RateHit(key: "a", windowSeconds: 60)
        // No shared boundary: a bucket first hit at :59 keeps its window until :59 a minute later.
        #expect(counter.count([a], at: noon + 59) == [RateCount(events: 1, windowStart: noon + 59)])
        #expect(counter.count([a], at: noon + 61) == [RateCount(events: 2, windowStart: noon + 59)])
        #expect(counter.count([a], at: noon + 61)[0].secondsLeft(windowSeconds: 60, now: noon + 61) == 58)
        #expect(RateCount(events: 1, windowStart: noon).secondsLeft(windowSeconds: 60, now: noon + 59.5) == 1)
        #expect(RateCount(events: 1, windowStart: noon).secondsLeft(windowSeconds: 60, now: noon + 70) == 1)
        // Once it closes, the next event opens a new one.
        #expect(counter.count([a], at: noon + 119) == [RateCount(events: 1, windowStart: noon + 119)])
    }

    @Test func theLocalCounterCountsPerBucket() {
        let counter = LocalRateCounter()
        let (a, b) = (RateHit(key: "a", windowSeconds: 60), RateHit(key: "b", windowSeconds: 60))
        #expect(counter.count([a, b], at: noon).map(\.events) == [1, 1])
        #expect(counter.count([a], at: noon + 1).map(\.events) == [2])
        counter.forgetWindows(closedBefore: noon + 61)
        #expect(counter.count([a], at: noon + 2).map(\.events) == [1])
    }

    @Test func theLocalCounterStaysWithinItsCapacity() {
        let counter = LocalRateCounter(capacity: 10)
        for index in 0..<100 { _ = counter.count([RateHit(key: "k\(index)", windowSeconds: 1)], at: noon + Double(index)) }
        // Closed windows went first; the open bucket still counts.
        #expect(counter.count([RateHit(key: "k99", windowSeconds: 1)], at: noon + 99.5).map(\.events) == [2])
        #expect(counter.count([RateHit(key: "k0", windowSeconds: 1)], at: noon + 99.5).map(\.events) == [1])
    }

    @Test func aRequestIsChargedToItsUserClientAndTool() {
        var settings = RateLimitSettings()
        settings.perUser = RateLimit(events: 2, windowSeconds: 60)
        settings.perClient = RateLimit(events: 10, windowSeconds: 3600)
        settings.perTool = ["http_fetch": RateLimit(events: 1, windowSeconds: 60)]
        let policy = RateLimitPolicy(settings: settings)
        let ada = Principal(subject: "ada", issuer: "https://as.example", clientID: "ghc_1")
        let charges = policy.charges(principal: ada, address: "10.0.0.1", tool: "http_fetch")
        #expect(charges.map(\.scope) == ["user", "client", "tool"])
        #expect(charges.map(\.hit.key) == ["mcp:user:https://as.example|ada", "mcp:client:ghc_1", "mcp:tool:http_fetch:user:https://as.example|ada"])
        let counts = { (events: [Int]) in events.map { RateCount(events: $0, windowStart: noon) } }
        #expect(policy.decide(charges, counts: counts([2, 10, 1]), now: noon) == nil)
        let refusal = policy.decide(charges, counts: counts([2, 10, 2]), now: noon + 15)
        #expect(refusal == RateLimitPolicy.Refusal(scope: "tool", limit: settings.perTool["http_fetch"]!, retryAfter: 45, tool: "http_fetch"))
        #expect(refusal?.message == "rate limit reached: at most 1 per minute for calls of http_fetch by one user; retry after 45 s")
        // Other tools are not limited; an anonymous caller is counted by address (an IPv6 /64).
        #expect(policy.charges(principal: ada, address: "10.0.0.1", tool: "whoami").count == 2)
        let anonymous = policy.charges(principal: .anonymous, address: "2001:db8:1:2::5", tool: nil)
        #expect(anonymous.map(\.hit.key) == ["mcp:address:" + ClientAddress.limitKey("2001:db8:1:2::5")])
    }

    @Test func settingsAreReadAndBadOnesNamed() throws {
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(environment: [
            "GATEHOUSE_RATE_LIMIT_USER": "600/min", "GATEHOUSE_RATE_LIMIT_CLIENT": "off",
            "GATEHOUSE_RATE_LIMIT_TOOLS": "http_fetch=30/min, notes_add=100/hour",
        ]))
        #expect(configuration.rateLimits.perUser == RateLimit(events: 600, windowSeconds: 60))
        #expect(configuration.rateLimits.perClient == nil)
        #expect(configuration.rateLimits.perTool == [
            "http_fetch": RateLimit(events: 30, windowSeconds: 60), "notes_add": RateLimit(events: 100, windowSeconds: 3600),
        ])
        #expect(try GatehouseConfiguration.load(from: ConfigurationSources()).0.rateLimits.isEmpty)
        for (key, value) in [
            ("GATEHOUSE_RATE_LIMIT_USER", "600"), ("GATEHOUSE_RATE_LIMIT_TOOLS", "http_fetch"), ("GATEHOUSE_RATE_LIMIT_TOOLS", "a=1/min,"),
        ] {
            #expect(throws: ConfigurationError.self) { try GatehouseConfiguration.load(from: ConfigurationSources(environment: [key: value])) }
        }
    }
}

@Suite("TLS and operations settings")
struct OperationsSettingsTests {
    @Test func tlsNeedsBothFilesAndMakesTheBaseURLHTTPS() throws {
        let (configuration, _) = try GatehouseConfiguration.load(from: ConfigurationSources(
            flags: ["tlsCertificate": "/etc/cert.pem", "tlsPrivateKey": "/etc/key.pem", "port": "8443"]))
        #expect(configuration.tls == TLSSettings(certificatePath: "/etc/cert.pem", privateKeyPath: "/etc/key.pem"))
        #expect(configuration.resourceURL == "https://127.0.0.1:8443/mcp")
        for environment in [["GATEHOUSE_TLS_CERT": "c.pem"], ["GATEHOUSE_TLS_KEY": "k.pem"], ["GATEHOUSE_TLS_HTTP2": "true"]] {
            #expect(throws: ConfigurationError.self) { try GatehouseConfiguration.load(from: ConfigurationSources(environment: environment)) }
        }
    }

    @Test func metricsListenOnLoopbackUnlessToldAndTheAuditLogIsOff() throws {
        let defaults = try GatehouseConfiguration.load(from: ConfigurationSources()).0.operations
        #expect(defaults.metricsPort == nil && defaults.auditLogPath == nil && defaults.metricsHost == "127.0.0.1")
        let set = try GatehouseConfiguration.load(from: ConfigurationSources(environment: [
            "GATEHOUSE_METRICS_PORT": "9464", "GATEHOUSE_METRICS_HOST": "0.0.0.0", "GATEHOUSE_AUDIT_LOG": "-",
        ])).0.operations
        #expect(set.metricsPort == 9464 && set.metricsHost == "0.0.0.0" && set.auditLogPath == "-")
        #expect(throws: ConfigurationError.self) {
            try GatehouseConfiguration.load(from: ConfigurationSources(environment: ["GATEHOUSE_METRICS_PORT": "0"]))
        }
    }
}
