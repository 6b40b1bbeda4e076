/// Server-sent events decoded as bytes arrive: feed chunks, take whole events.
///
/// Lines end in CRLF, LF or CR; `data:` lines of one event are joined with newlines; `event:`
/// names the event (default `message`); `id`, `retry` and comments are skipped (HTML Living
/// Standard, "Parsing an event stream").
public struct SSEDecoder: Sendable {
    public struct Event: Sendable, Equatable {
        public var name: String
        public var data: [UInt8]
    }

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var name: String?
    private var hasData = false
    private var lastWasCR = false
    /// Bounds an event, so a peer cannot grow the buffer without end.
    public let maxEventBytes: Int

    public init(maxEventBytes: Int = 16 * 1024 * 1024) {
        self.maxEventBytes = maxEventBytes
    }

    public enum Failure: Error {
        case eventTooLarge
    }

    /// Every event the chunk completes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Failure) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count + data.count > maxEventBytes { throw .eventTooLarge }
            }
        }
        return events
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer { name = nil }
            guard hasData else { return nil }
            let event = Event(name: name ?? "message", data: data)
            data.removeAll(keepingCapacity: true)
            hasData = false
            return event
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if line[..<colon].elementsEqual("event".utf8) {
            name = String(decoding: value, as: UTF8.self)
            return nil
        }
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data.append(contentsOf: value)
        hasData = true
        return nil
    }
}
