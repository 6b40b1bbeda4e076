import Foundation
import GatehouseCore

/// `gatehouse doctor URL`: an MCP server's OAuth deployment seen from outside, as a client sees it,
/// step by step (the funnel the seed guides walk by hand with curl): the unauthenticated request
/// and its challenge, protected-resource metadata, each authorization server's metadata, CORS,
/// the servers' clocks and, for an open endpoint, its tools and Origin check.
public struct DeploymentProbe: Sendable {
    /// The MCP endpoint URL, as clients are given it.
    public let url: String
    /// Also register a client for real (RFC 7591), to see the registration endpoint answer.
    public let register: Bool
    let http: ProbeHTTP
    let now: @Sendable () -> Date

    public init(url: String, register: Bool = false, timeout: Duration = .seconds(8), now: @escaping @Sendable () -> Date = { Date() }) {
        self.url = url
        self.register = register
        http = ProbeHTTP(timeout: timeout)
        self.now = now
    }

    /// Every finding, in the order of the steps.
    public func run() async -> [Finding] {
        var log = ProbeLog()
        let endpoint = await EndpointStep(url: url, http: http).run(&log)
        switch endpoint {
        case .unreachable:
            return log.findings
        case .open(let session):
            await OpenEndpointChecks(url: url, http: http, session: session).run(&log)
        case .protected(let headerMetadataURL):
            if let metadata = await ResourceMetadataStep(url: url, headerURL: headerMetadataURL, http: http).run(&log) {
                var metadataURLs: [String] = []
                for issuer in metadata.authorizationServers {
                    if let server = await AuthorizationServerStep(issuer: issuer, http: http, register: register).run(&log) {
                        metadataURLs.append(server.metadataURL)
                        if let token = server.tokenEndpoint { metadataURLs.append(token) }
                    }
                }
                await CORSStep(url: url, resourceMetadataURL: metadata.url, authorizationServerURLs: metadataURLs, http: http).run(&log)
            }
        }
        ClockCheck(now: now()).run(&log)
        return log.findings
    }
}

/// What the steps found so far, and the `Date` of each answer for the clock check.
struct ProbeLog {
    var findings: [Finding] = []
    var serverDates: [(url: String, date: Date)] = []

    mutating func add(
        _ id: String, _ severity: Finding.Severity, _ message: String, fix: String = "", step: String, evidence: [String: String] = [:]
    ) {
        findings.append(Finding(id, severity, message, fix: fix, step: step, evidence: evidence))
    }

    /// Keeps the answer's `Date` header.
    mutating func saw(_ answer: ProbeHTTP.Answer, from url: String) {
        guard let text = answer.header("Date"), let date = HTTPDate.parse(text) else { return }
        serverDates.append((url, date))
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), the form every server sends in `Date`.
enum HTTPDate {
    static func parse(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

/// The servers' clocks against this machine's: tokens are checked with little skew allowed.
struct ClockCheck {
    let now: Date

    func run(_ log: inout ProbeLog) {
        guard let worst = log.serverDates.max(by: { abs($0.date.timeIntervalSince(now)) < abs($1.date.timeIntervalSince(now)) }) else { return }
        let skew = Int(worst.date.timeIntervalSince(now).rounded())
        guard abs(skew) > 60 else { return }
        log.add(
            "clock.skew", .warning,
            "\(worst.url) answered with a Date \(abs(skew)) seconds \(skew > 0 ? "ahead of" : "behind") this machine's clock",
            fix: "run NTP (chrony, systemd-timesyncd) on the server and on this machine: tokens are refused as expired or not yet valid when clocks drift",
            step: "clock", evidence: ["url": worst.url, "skew_seconds": "\(skew)"])
    }
}
