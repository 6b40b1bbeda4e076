import Synchronization

/// The names clients see for the tools, prompts and resources of several upstreams, and the way
/// back from a name to its upstream.
///
/// - A tool or prompt `search` of upstream `docs` is `docs_search`. Upstream names cannot contain
///   `_`, so the first `_` always ends the upstream name.
/// - Names must match `^[a-zA-Z0-9_-]{1,64}$` (what Claude accepts). A name that does not (too long,
///   or with `.`, `/` or other characters) becomes its first characters with the others replaced by
///   `-`, then `-` and 10 hex digits of a hash of the original name: still unique, still valid.
/// - A resource URI `file:///a` of upstream `docs` is `gatehouse+docs:file:///a` (a URI whose
///   scheme names the upstream).
/// - The one transparent upstream keeps its names and URIs. Those that would read as another
///   upstream's (starting `docs_` or `gatehouse+`) are left out of its lists.
final class Namespace: Sendable {
    static let maxNameLength = 64
    static let uriSchemePrefix = "gatehouse+"

    private let upstreams: [String]
    private let transparent: String?
    /// Exposed names that are not `upstream_original`, and their originals, per upstream.
    private let hashedNames = Mutex<[String: (upstream: String, original: String)]>([:])

    init(upstreams: [String], transparent: String?) {
        self.upstreams = upstreams
        self.transparent = transparent
    }

    // MARK: Tools and prompts

    /// The name clients see for `original` of `upstream`; `nil` when the transparent upstream's
    /// name would be mistaken for another upstream's.
    func exposedName(_ original: String, of upstream: String) -> String? {
        if upstream == transparent {
            guard !readsAsPrefixed(original) else { return nil }
            return Self.isValidName(original) ? original : hashed(original, of: upstream, prefix: "")
        }
        let plain = upstream + "_" + original
        if Self.isValidName(plain) { return plain }
        return hashed(original, of: upstream, prefix: upstream + "_")
    }

    /// The upstream and original name behind an exposed name; `nil` when no upstream has it.
    func resolveName(_ exposed: String) -> (upstream: String, original: String)? {
        if let entry = hashedNames.withLock({ $0[exposed] }) { return entry }
        if let separator = exposed.firstIndex(of: "_") {
            let prefix = String(exposed[..<separator])
            if prefix != transparent, upstreams.contains(prefix) {
                return (prefix, String(exposed[exposed.index(after: separator)...]))
            }
        }
        if let transparent, !readsAsPrefixed(exposed) { return (transparent, exposed) }
        return nil
    }

    // MARK: Resources

    func exposedURI(_ original: String, of upstream: String) -> String? {
        if upstream == transparent { return original.hasPrefix(Self.uriSchemePrefix) ? nil : original }
        return Self.uriSchemePrefix + upstream + ":" + original
    }

    func resolveURI(_ exposed: String) -> (upstream: String, original: String)? {
        if exposed.hasPrefix(Self.uriSchemePrefix), let colon = exposed.firstIndex(of: ":") {
            let upstream = String(exposed[exposed.index(exposed.startIndex, offsetBy: Self.uriSchemePrefix.count)..<colon])
            if upstreams.contains(upstream), upstream != transparent {
                return (upstream, String(exposed[exposed.index(after: colon)...]))
            }
            return nil
        }
        return transparent.map { ($0, exposed) }
    }

    // MARK: Helpers

    static func isValidName(_ name: String) -> Bool {
        (1...maxNameLength).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    private func readsAsPrefixed(_ name: String) -> Bool {
        upstreams.contains { $0 != transparent && name.hasPrefix($0 + "_") }
    }

    private func hashed(_ original: String, of upstream: String, prefix: String) -> String {
        let suffix = "-" + Self.hash(original)
        let room = Self.maxNameLength - prefix.utf8.count - suffix.utf8.count
        let stem = String(String.UnicodeScalarView(original.unicodeScalars.prefix(room).map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                ? scalar : "-"
        }))
        let exposed = prefix + stem + suffix
        hashedNames.withLock { $0[exposed] = (upstream, original) }
        return exposed
    }

    /// FNV-1a 64 of the UTF-8 bytes, 10 hex digits: tells apart names that share a stem.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).suffix(10))
    }
}
