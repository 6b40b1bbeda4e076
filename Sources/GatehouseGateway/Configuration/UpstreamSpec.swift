import Foundation
import GatehouseCore

/// One MCP server behind the gateway, as configured.
public struct UpstreamSpec: Sendable, Equatable {
    /// How the gateway reaches the server.
    public enum Transport: Sendable, Equatable {
        /// Streamable HTTP at this URL, either protocol era (found out on first contact).
        case streamableHTTP(url: String)
        /// The HTTP+SSE transport of 2024-11-05: an event stream at this URL, messages POSTed to
        /// the endpoint it names.
        case legacySSE(url: String)
        /// A command the gateway starts and talks to over stdin/stdout (newline-delimited JSON-RPC).
        case stdio(StdioCommand)
    }

    /// Which protocol the gateway speaks to an HTTP upstream.
    public enum ProtocolChoice: String, Sendable, Equatable {
        /// The stateless 2026-07-28 protocol when `server/discover` succeeds, else a 2025-11-25 session.
        case auto
        /// Always a session (`initialize`, 2025-11-25 or what the server negotiates).
        case session
        /// Always stateless 2026-07-28.
        case stateless
    }

    /// The name in namespaced tool and prompt names and in resource URIs: `^[a-zA-Z0-9-]{1,32}$`
    /// (no underscore, which separates it from the upstream's own name).
    public var name: String
    public var transport: Transport
    public var protocolChoice: ProtocolChoice
    /// True mounts the upstream without a prefix: its names and URIs are shown as they are.
    public var transparent: Bool
    /// What the gateway presents to the upstream as the caller's identity.
    public var identity: UpstreamIdentity
    /// The longest the upstream may stay silent during one request (and to answer at all).
    public var timeout: Duration
    /// Who may see and call anything of this upstream.
    public var access: AccessRule
    /// Further rules for single tools, by the upstream's own tool name.
    public var toolAccess: [String: AccessRule]

    public init(
        name: String, transport: Transport, protocolChoice: ProtocolChoice = .auto, transparent: Bool = false,
        identity: UpstreamIdentity = .none, timeout: Duration = .seconds(60), access: AccessRule = AccessRule(),
        toolAccess: [String: AccessRule] = [:]
    ) {
        self.name = name
        self.transport = transport
        self.protocolChoice = protocolChoice
        self.transparent = transparent
        self.identity = identity
        self.timeout = timeout
        self.access = access
        self.toolAccess = toolAccess
    }

    /// Whether `name` can name an upstream.
    public static func isValidName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// Whether the upstream is on this machine (identity headers may only go there).
    public var isLoopback: Bool {
        switch transport {
        case .stdio: return true
        case .streamableHTTP(let url), .legacySSE(let url): return URLComponents(string: url)?.host.map(HostName.isLoopback) ?? false
        }
    }
}

/// A command line for a stdio upstream.
public struct StdioCommand: Sendable, Equatable {
    /// The program: a path, or a name looked up in `PATH`.
    public var executable: String
    public var arguments: [String]
    /// Added to the gateway's own environment.
    public var environment: [String: String]
    public var workingDirectory: String?

    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:], workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}
