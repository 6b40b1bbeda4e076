import Foundation
import GatehouseCore
import GatehouseMCP
import Logging

/// A stdio MCP server the gateway runs: started on first use, initialized once, shared by every
/// caller (a stdio server is one client's session), restarted with backoff when it exits, and
/// stopped when the gateway stops. Its stderr goes to the log, line by line.
///
/// MCP stdio transport: messages are newline-delimited JSON-RPC on stdin and stdout, routed by a
/// shared ``MessageStream``. The server is told the client has no elicitation, sampling or
/// roots: with many callers on one process, nobody could be asked.
actor StdioChannel: UpstreamChannel {
    let name: String
    let command: StdioCommand
    let timeout: Duration
    let logger: Logger
    let backoff = Backoff()

    private var running: (process: StdioProcess, stream: MessageStream)?
    private var starting: Task<MessageStream, any Error>?
    private var stopped = false
    private var downSince: ContinuousClock.Instant?
    private var failures = 0

    init(name: String, command: StdioCommand, timeout: Duration, logger: Logger) {
        self.name = name
        self.command = command
        self.timeout = timeout
        self.logger = logger
    }

    func send(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        try await stream().request(request.method, params: request.params, relay: relay)
    }

    func close() async {
        stopped = true
        starting?.cancel()
        if let running {
            await running.stream.close(.unavailable("the gateway is stopping"))
            await running.process.stop()
        }
        running = nil
    }

    /// The stream of the running, initialized process; starts it when it is not running and its
    /// backoff allows.
    private func stream() async throws(UpstreamFailure) -> MessageStream {
        if let running { return running.stream }
        if stopped { throw .unavailable("the gateway is stopping") }
        if let starting {
            do { return try await starting.value } catch { throw error as? UpstreamFailure ?? .unavailable("\(error)") }
        }
        if let wait = backoff.remaining(after: downSince, failures: failures) {
            throw .unavailable("the process exited; it is restarted in \(wait.components.seconds + 1) s")
        }
        let task = Task { () async throws -> MessageStream in try await self.start() }
        starting = task
        defer { starting = nil }
        do {
            return try await task.value
        } catch {
            failures += 1
            downSince = .now
            throw error as? UpstreamFailure ?? .unavailable("\(error)")
        }
    }

    private func start() async throws -> MessageStream {
        let box = StreamSlot()
        let process = try StdioProcess.launch(command, name: name, logger: logger) { line in
            guard let message = try? JSONValue.parse(line) else { return }
            await box.stream?.receive(message)
        } onExit: { [weak self] status in
            await self?.exited(status)
        }
        let stream = MessageStream(wire: process, timeout: timeout, shared: true)
        box.stream = stream
        running = (process, stream)
        do {
            let reply = try await stream.request("initialize", params: Self.initializeParams, relay: .none)
            guard case .result = reply else {
                throw UpstreamFailure.protocolViolation("initialize failed: \(StreamableHTTPChannel.excerpt(reply))")
            }
            try await stream.notify(["jsonrpc": "2.0", "method": "notifications/initialized"])
        } catch {
            running = nil
            await process.stop()
            throw error
        }
        failures = 0
        downSince = nil
        logger.info("stdio upstream started", metadata: ["upstream": "\(name)", "pid": "\(process.pid)"])
        return stream
    }

    static let initializeParams: [String: JSONValue] = [
        "protocolVersion": "2025-11-25", "capabilities": .object([:]),
        "clientInfo": ["name": "gatehouse-gateway", "version": .string(Gatehouse.version)],
    ]

    private func exited(_ status: Int32) async {
        guard let current = running else { return }
        running = nil
        await current.stream.close(.unreachable("the process exited with status \(status)"))
        // While starting, `stream()` counts the failure; otherwise restart from here.
        guard !stopped, starting == nil else { return }
        failures += 1
        downSince = .now
        let wait = backoff.delay(failures: failures)
        logger.warning(
            "stdio upstream exited; restarting with backoff",
            metadata: ["upstream": "\(name)", "status": "\(status)", "retry_in": "\(wait)"])
        Task {
            try? await Task.sleep(for: wait)
            _ = try? await self.stream()
        }
    }
}

