import Foundation
import GatehouseCore
import GatehouseMCP
import Logging

/// A stdio MCP server the gateway runs: started on first use, initialized once, shared by every
/// caller (a stdio server is one client's session), restarted with backoff when it exits, and
/// stopped when the gateway stops. Its stderr goes to the log, line by line.
///
/// MCP stdio transport: messages are newline-delimited JSON-RPC on stdin and stdout. Because
/// callers share the process, the gateway gives every request its own id and every progress
/// token its own value, and maps them back. The server is told the client has no elicitation,
/// sampling or roots: with many callers on one process, nobody could be asked.
actor StdioChannel: UpstreamChannel {
    let name: String
    let command: StdioCommand
    let timeout: Duration
    let logger: Logger
    let backoff = Backoff()

    private var process: StdioProcess?
    private var starting: Task<StdioProcess, any Error>?
    private var waiting: [String: Waiter] = [:]
    /// Progress tokens given to the process, and the request and caller's token each stands for.
    private var progressTokens: [String: (original: JSONValue, relay: UpstreamRelay, requestID: String)] = [:]
    private var nextID = 0
    private var stopped = false
    private var downSince: ContinuousClock.Instant?
    private var failures = 0

    private struct Waiter {
        let continuation: CheckedContinuation<Result<UpstreamReply, UpstreamFailure>, Never>
        let relay: UpstreamRelay
        var lastActivity: ContinuousClock.Instant
    }

    init(name: String, command: StdioCommand, timeout: Duration, logger: Logger) {
        self.name = name
        self.command = command
        self.timeout = timeout
        self.logger = logger
    }

    func send(_ request: UpstreamRequest, relay: UpstreamRelay) async throws(UpstreamFailure) -> UpstreamReply {
        let process = try await running()
        return try await exchange(request.method, params: request.params, relay: relay, on: process)
    }

    func close() async {
        stopped = true
        starting?.cancel()
        await process?.stop()
        process = nil
        failAll(.unavailable("the gateway is stopping"))
    }

    // MARK: Process

    /// The running, initialized process; starts it when it is not running and its backoff allows.
    private func running() async throws(UpstreamFailure) -> StdioProcess {
        if let process { return process }
        if stopped { throw .unavailable("the gateway is stopping") }
        if let starting {
            do { return try await starting.value } catch { throw error as? UpstreamFailure ?? .unavailable("\(error)") }
        }
        if let wait = backoff.remaining(after: downSince, failures: failures) {
            throw .unavailable("the process exited; it is restarted in \(wait.components.seconds + 1) s")
        }
        let task = Task { () async throws -> StdioProcess in try await self.start() }
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

    private func start() async throws -> StdioProcess {
        let process = try StdioProcess.launch(command, name: name, logger: logger) { [weak self] line in
            await self?.receive(line)
        } onExit: { [weak self] status in
            await self?.exited(status)
        }
        self.process = process
        let params: [String: JSONValue] = [
            "protocolVersion": "2025-11-25", "capabilities": .object([:]),
            "clientInfo": ["name": "gatehouse-gateway", "version": .string(Gatehouse.version)],
        ]
        let reply: UpstreamReply
        do {
            reply = try await exchange("initialize", params: params, relay: .none, on: process)
        } catch {
            await process.stop()
            self.process = nil
            throw error
        }
        guard case .result = reply else {
            await process.stop()
            self.process = nil
            throw UpstreamFailure.protocolViolation("initialize failed: \(StreamableHTTPChannel.excerpt(reply))")
        }
        try await process.write(["jsonrpc": "2.0", "method": "notifications/initialized"])
        failures = 0
        downSince = nil
        logger.info("stdio upstream started", metadata: ["upstream": "\(name)", "pid": "\(process.pid)"])
        return process
    }

    private func exited(_ status: Int32) {
        guard process != nil else { return }
        process = nil
        failAll(.unreachable("the process exited with status \(status)"))
        // While starting, `running()` counts the failure; otherwise restart from here.
        guard !stopped, starting == nil else { return }
        failures += 1
        downSince = .now
        let wait = backoff.delay(failures: failures)
        logger.warning(
            "stdio upstream exited; restarting with backoff",
            metadata: ["upstream": "\(name)", "status": "\(status)", "retry_in_ms": "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)"])
        Task {
            try? await Task.sleep(for: wait)
            _ = try? await self.running()
        }
    }

    // MARK: Messages

    private func exchange(
        _ method: String, params: [String: JSONValue], relay: UpstreamRelay, on process: StdioProcess
    ) async throws(UpstreamFailure) -> UpstreamReply {
        nextID += 1
        let id = "gw-\(nextID)"
        var params = params
        var progressKey: String?
        if let token = params["_meta"]?.objectValue?["progressToken"] {
            // Callers share the process, so their progress tokens could collide: each gets its own.
            let key = "gw-progress-\(nextID)"
            progressKey = key
            progressTokens[key] = (token, relay, id)
            var meta = params["_meta"]?.objectValue ?? [:]
            meta["progressToken"] = .string(key)
            params["_meta"] = .object(meta)
        }
        defer { if let progressKey { progressTokens[progressKey] = nil } }
        let message: JSONValue = ["jsonrpc": "2.0", "id": .string(id), "method": .string(method), "params": .object(params)]
        let watchdog = Task { [timeout] in
            while !Task.isCancelled {
                try? await Task.sleep(for: timeout / 4)
                self.expireIfSilent(id)
            }
        }
        defer { watchdog.cancel() }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiting[id] = Waiter(continuation: continuation, relay: relay, lastActivity: .now)
                Task { await self.write(message, for: id, on: process) }
            }
        } onCancel: {
            Task { await self.cancel(id, reason: "the client went away") }
        }
        return try result.get()
    }

    private func write(_ message: JSONValue, for id: String, on process: StdioProcess) async {
        do {
            try await process.write(message)
        } catch {
            resolve(id, with: .failure(.unreachable("cannot write to the process: \(error)")))
        }
    }

    private func expireIfSilent(_ id: String) {
        guard let waiter = waiting[id], ContinuousClock.now - waiter.lastActivity >= timeout else { return }
        resolve(id, with: .failure(.timedOut(timeout)))
        Task { try? await process?.write(Self.cancelled(id, reason: "no answer in time")) }
    }

    private func cancel(_ id: String, reason: String) async {
        guard waiting[id] != nil else { return }
        resolve(id, with: .failure(.unavailable("the request was cancelled")))
        try? await process?.write(Self.cancelled(id, reason: reason))
    }

    private static func cancelled(_ id: String, reason: String) -> JSONValue {
        ["jsonrpc": "2.0", "method": "notifications/cancelled", "params": ["requestId": .string(id), "reason": .string(reason)]]
    }

    private func resolve(_ id: String, with result: Result<UpstreamReply, UpstreamFailure>) {
        waiting.removeValue(forKey: id)?.continuation.resume(returning: result)
    }

    private func failAll(_ failure: UpstreamFailure) {
        let all = waiting
        waiting = [:]
        for waiter in all.values { waiter.continuation.resume(returning: .failure(failure)) }
    }

    /// One line from the process's stdout.
    private func receive(_ line: [UInt8]) {
        guard let message = try? JSONValue.parse(line), case .object(let object) = message else {
            logger.debug("stdio upstream wrote a line that is not JSON-RPC", metadata: ["upstream": "\(name)"])
            return
        }
        if case .string(let method)? = object["method"] {
            if let requestID = object["id"] {
                answer(requestID, method: method, params: object["params"] ?? .null)
            } else {
                notification(method, params: object["params"]?.objectValue ?? [:])
            }
            return
        }
        guard case .string(let id)? = object["id"] else { return }
        if let error = object["error"] {
            resolve(id, with: .success(.error(error)))
        } else {
            resolve(id, with: .success(.result(object["result"] ?? .null)))
        }
    }

    /// Progress goes to the caller whose token it carries; log messages and list changes belong
    /// to no caller in particular, so they are not relayed.
    private func notification(_ method: String, params: [String: JSONValue]) {
        guard method == "notifications/progress", case .string(let key)? = params["progressToken"],
            let (original, relay, requestID) = progressTokens[key]
        else { return }
        var params = params
        params["progressToken"] = original
        relay.notify(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)])
        waiting[requestID]?.lastActivity = .now
    }

    /// Requests from the process: `ping` is answered; the rest are refused (see the type's doc).
    private func answer(_ requestID: JSONValue, method: String, params: JSONValue) {
        let reply: JSONValue =
            method == "ping"
            ? ["jsonrpc": "2.0", "id": requestID, "result": .object([:])]
            : ["jsonrpc": "2.0", "id": requestID, "error": UpstreamRelay.refusal(method).errorObject]
        Task { try? await process?.write(reply) }
    }
}

extension UpstreamReply {
    var errorObject: JSONValue {
        if case .error(let error) = self { return error }
        return .null
    }
}
