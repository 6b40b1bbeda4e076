import Foundation
import Testing

@testable import GatehouseDoctor

/// The pure parts of `gatehouse doctor URL`; the probe itself runs against a gallery of broken
/// deployments in Tests/Interop/test_doctor_url.py.
@Suite("Deployment probe parts")
struct DeploymentProbeTests {
    @Test func authorizationServersAreDiscoveredInTheSpecsOrder() {
        #expect(
            AuthorizationServerStep.discoveryURLs("https://auth.example.com/tenant1") == [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ])
        #expect(
            AuthorizationServerStep.discoveryURLs("https://x.authkit.app/") == [
                "https://x.authkit.app/.well-known/oauth-authorization-server", "https://x.authkit.app/.well-known/openid-configuration",
            ])
    }

    @Test func toolNamesFollowWhatClientsAccept() {
        #expect(OpenEndpointChecks.isValidToolName("get_weather-2"))
        #expect(!OpenEndpointChecks.isValidToolName("get weather!"))
        #expect(!OpenEndpointChecks.isValidToolName(""))
        #expect(!OpenEndpointChecks.isValidToolName(String(repeating: "a", count: 65)))
        #expect(!OpenEndpointChecks.isValidToolName("wetter_é"))
    }

    @Test func streamedAnswersAreRead() {
        let sse = Data("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[]}}\n\n".utf8)
        #expect(OpenEndpointChecks.message(sse)?["id"] == 2)
    }

    @Test func clockSkewIsReportedBeyondAMinute() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var log = ProbeLog()
        log.serverDates = [("https://a.example", now.addingTimeInterval(30))]
        ClockCheck(now: now).run(&log)
        #expect(log.findings.isEmpty)
        log.serverDates.append(("https://b.example", now.addingTimeInterval(-600)))
        ClockCheck(now: now).run(&log)
        #expect(log.findings.map(\.id) == ["clock.skew"])
        #expect(log.findings.first?.evidence["skew_seconds"] == "-600")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
    }

    @Test func urlsAreClassified() {
        #expect("http://mcp.example.com/mcp".isPlainHTTPOffLoopback)
        #expect(!"http://127.0.0.1:8884/mcp".isPlainHTTPOffLoopback)
        #expect(!"https://mcp.example.com/mcp".isPlainHTTPOffLoopback)
        #expect("https://mcp.example.com:8443/a/mcp/".origin == "https://mcp.example.com:8443")
        #expect("https://mcp.example.com/a/mcp/".pathWithoutTrailingSlash == "/a/mcp")
    }
}
