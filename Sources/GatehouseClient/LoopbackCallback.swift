import Foundation
import GatehouseCore
import Hummingbird
import Logging
import NIOCore

/// The loopback redirect target of a native client (RFC 8252 §7.3): a tiny HTTP server on
/// 127.0.0.1 that receives the authorization response and hands its parameters over.
final class LoopbackCallback: Sendable {
    /// `http://127.0.0.1:PORT/callback`.
    let redirectURI: String
    private let responses: AsyncStream<[String: String]>
    private let server: Task<Void, any Error>

    private init(redirectURI: String, responses: AsyncStream<[String: String]>, server: Task<Void, any Error>) {
        self.redirectURI = redirectURI
        self.responses = responses
        self.server = server
    }

    /// What the callback expects, so the page it shows tells the user the truth; the session
    /// checks the parameters again.
    struct Expectation: Sendable {
        var state: String
        var issuer: String
    }

    /// Starts listening on 127.0.0.1:`port` (0 picks a free port).
    static func start(port: Int, expecting expectation: Expectation) async throws(ClientError) -> LoopbackCallback {
        let (responses, deliver) = AsyncStream<[String: String]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let router = Router()
        router.get("/callback") { request, _ -> Response in
            var parameters: [String: String] = [:]
            for item in URLComponents(string: "http://x/?" + (request.uri.query ?? ""))?.queryItems ?? [] {
                parameters[item.name] = item.value ?? ""
            }
            deliver.yield(parameters)
            let message: String =
                if parameters["state"] != expectation.state {
                    "This answer does not belong to the sign-in the terminal started, so it was refused. Return to the terminal."
                } else if let iss = parameters["iss"], iss != expectation.issuer {
                    "This answer came from another authorization server than expected, so it was refused. Return to the terminal."
                } else if let error = parameters["error"] {
                    "Sign-in failed: \(error). Return to the terminal for details."
                } else {
                    "Signed in. You can close this tab and return to the terminal."
                }
            let html = "<!doctype html><meta charset=utf-8><title>Gatehouse</title><p>\(HTML.escape(message))</p>"
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        }
        let (bound, reportBound) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "gatehouse.callback")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in
                reportBound.yield(channel.localAddress?.port ?? port)
                reportBound.finish()
            }, logger: logger)
        let server = Task {
            defer { reportBound.finish() }
            try await app.run()
        }
        guard let actualPort = await bound.first(where: { _ in true }) else {
            let reason = await server.result.failureDescription
            throw ClientError("cannot listen on 127.0.0.1:\(port) for the sign-in callback: \(reason); choose another --callback-port")
        }
        return LoopbackCallback(redirectURI: "http://127.0.0.1:\(actualPort)/callback", responses: responses, server: server)
    }

    /// The parameters of the first authorization response, or an error after `timeout`.
    func response(timeout: Duration) async throws(ClientError) -> [String: String] {
        let responses = self.responses
        let outcome = await withTaskGroup(of: [String: String]?.self) { group in
            group.addTask { await responses.first(where: { _ in true }) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let outcome else {
            throw ClientError(
                "no sign-in arrived within \(timeout.components.seconds) s; run the command again (and finish signing in in the browser), or raise --timeout")
        }
        return outcome
    }

    /// Stops listening, after a moment for the page of an answer just received to be sent.
    func stop() async {
        try? await Task.sleep(for: .milliseconds(200))
        server.cancel()
        _ = await server.result
    }
}

extension Result where Success == Void {
    var failureDescription: String {
        if case .failure(let error) = self { return "\(error)" }
        return "the server stopped"
    }
}
