import Foundation
import GatehouseCore
import Logging
import Synchronization

/// A child process with piped stdin, stdout and stderr: stdout is handed over line by line,
/// stderr is logged line by line, and writes go through one serial queue (a pipe write may
/// block; it must not block the cooperative pool).
final class StdioProcess: MessageWire {
    private let process: Process
    private let input: FileHandle
    private let writes: DispatchQueue
    /// Longest line accepted from the process; a longer one is dropped with a warning.
    static let maxLineBytes = 16 * 1024 * 1024

    var pid: Int32 { process.processIdentifier }

    private init(process: Process, input: FileHandle, name: String) {
        self.process = process
        self.input = input
        self.writes = DispatchQueue(label: "gatehouse.stdio.\(name)")
    }

    /// Starts `command`; `onLine` receives each stdout line, `onExit` the exit status.
    static func launch(
        _ command: StdioCommand, name: String, logger: Logger,
        onLine: @escaping @Sendable ([UInt8]) async -> Void, onExit: @escaping @Sendable (Int32) async -> Void
    ) throws(UpstreamFailure) -> StdioProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command.executable] + command.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(command.environment) { $1 }
        if let directory = command.workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let lines = LineStream(onLine: onLine, logger: logger, name: name)
        let errors = LineStream(onLine: { line in
            logger.info("\(String(decoding: line, as: UTF8.self))", metadata: ["upstream": "\(name)", "stream": "stderr"])
        }, logger: logger, name: name)
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; lines.finish() } else { lines.feed(data) }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; errors.finish() } else { errors.feed(data) }
        }
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            // The last lines first, unless a child it left behind holds stdout open: then after 2 s.
            let once = Once()
            Task {
                await lines.drained()
                if once.claim() { await onExit(status) }
            }
            Task {
                try? await Task.sleep(for: .seconds(2))
                if once.claim() { await onExit(status) }
            }
        }
        do {
            try process.run()
        } catch {
            throw .unavailable("cannot start \(command.executable): \(error.localizedDescription)")
        }
        return StdioProcess(process: process, input: stdin.fileHandleForWriting, name: name)
    }

    /// Writes one message and a newline.
    func write(_ message: JSONValue) async throws {
        var writer = JSONWriter()
        writer.value(message)
        var bytes = writer.bytes
        bytes.append(UInt8(ascii: "\n"))
        let data = Data(bytes)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            writes.async { [input] in
                do {
                    try input.write(contentsOf: data)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Closes stdin, then SIGTERM after a moment, then SIGKILL (MCP stdio "Shutdown").
    func stop() async {
        try? input.close()
        for (signal, wait) in [(SIGTERM, Duration.milliseconds(500)), (SIGKILL, .seconds(2))] {
            for _ in 0..<10 where process.isRunning { try? await Task.sleep(for: wait / 10) }
            guard process.isRunning else { return }
            kill(process.processIdentifier, signal)
        }
    }
}

/// True for the first caller of ``claim()`` only.
private final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

/// Splits bytes into lines and hands them over in order, one at a time.
private final class LineStream: Sendable {
    private let continuation: AsyncStream<[UInt8]>.Continuation
    private let done: Task<Void, Never>

    init(onLine: @escaping @Sendable ([UInt8]) async -> Void, logger: Logger, name: String) {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        self.continuation = continuation
        done = Task {
            var buffer: [UInt8] = []
            for await chunk in stream {
                buffer.append(contentsOf: chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(buffer[..<newline])
                    buffer.removeSubrange(...newline)
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    if !line.isEmpty { await onLine(line) }
                }
                if buffer.count > StdioProcess.maxLineBytes {
                    logger.warning("stdio upstream wrote an over-long line; dropped", metadata: ["upstream": "\(name)"])
                    buffer.removeAll()
                }
            }
            if !buffer.isEmpty { await onLine(buffer) }
        }
    }

    func feed(_ data: Data) { continuation.yield(Array(data)) }
    func finish() { continuation.finish() }
    /// Waits until every line fed has been handed over.
    func drained() async {
        await done.value
    }
}
