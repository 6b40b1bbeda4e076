import ArgumentParser
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseDoctor
import GatehouseServer

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Diagnose MCP authentication.",
        discussion: """
            Example:
              gatehouse doctor https://mcp.example.com/mcp
              gatehouse doctor --config
              gatehouse doctor token - < token.txt
            """,
        subcommands: [URLDoctorCommand.self, TokenDoctorCommand.self],
        defaultSubcommand: URLDoctorCommand.self
    )
}

struct URLDoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Diagnose an MCP server's OAuth deployment from outside, as a client sees it.",
        discussion: """
            Walks the steps a client takes and reports each problem with a stable id and the fix: the \
            unauthenticated request and its 401 challenge; the protected-resource metadata (the challenge's URL, \
            path-aware and root, resource equal to the URL); each authorization server's metadata in the MCP \
            discovery order (issuer exact, PKCE S256, registration or Client ID Metadata Documents, https, the \
            token endpoint's JSON errors, the JWKS); CORS preflights with the MCP headers, without redirects; the \
            servers' clocks. An endpoint that answers without a token is checked for its Origin validation and \
            its tool names. Exit status 1 when any finding is an error. Findings: docs/doctor.md.

            `gatehouse doctor URL` is the same as `gatehouse doctor url URL`. With --config it checks this \
            Gatehouse's own settings (read like `gatehouse hub` reads them): the public base URL against what a running \
            server publishes, the AuthKit domain or JWT issuer, the upstream sign-in provider's credentials, the secret \
            key and the database file.

            Example:
              gatehouse doctor https://mcp.example.com/mcp
              gatehouse doctor url http://127.0.0.1:8884/mcp --json --register
              gatehouse doctor --config --env-file production.env
            """
    )

    @Argument(help: ArgumentHelp("The MCP endpoint URL, as clients are given it.", valueName: "url"))
    var url: String?

    @Flag(
        help: "Check this Gatehouse's own settings instead (or as well): base URL, provider, upstream sign-in credentials, secret key, database.")
    var config = false

    @Flag(help: "Print {\"url\": …, \"findings\": [{\"id\", \"severity\", \"message\", \"fix\", \"step\", \"evidence\"}]} as JSON.")
    var json = false

    @Flag(help: "Also register a test client for real (RFC 7591), to check the registration endpoint accepts a native client.")
    var register = false

    @Option(help: "Seconds to wait for each answer (default 8).")
    var timeout: Int = 8

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        var findings: [Finding] = []
        if config {
            let (configuration, logger) = try ServeSupport.load(options)
            findings += await ConfigurationDiagnosis(configuration: configuration, logger: logger, loadTLS: { try ServerTLS.check($0) })
                .run()
        }
        if let url {
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                components.host?.isEmpty == false
            else {
                printError("gatehouse: \(url.prefix(100)) is not an http(s) URL; give the MCP endpoint, e.g. https://mcp.example.com/mcp")
                throw ExitCode(64)  // EX_USAGE
            }
            findings += await DeploymentProbe(url: url, register: register, timeout: .seconds(max(1, timeout))).run()
        } else if !config {
            printError("gatehouse: give the MCP endpoint URL (gatehouse doctor https://mcp.example.com/mcp), or --config to check this server's settings")
            throw ExitCode(64)
        }
        let subject = url ?? "this configuration"
        print(json ? Self.json(url: url, findings) : Self.text(subject: subject, findings, colour: Terminal.showsColour))
        if findings.contains(where: { $0.severity == .error }) { throw ExitCode.failure }
    }

    /// Findings grouped by step, in the order the steps ran.
    static func text(subject: String, _ findings: [Finding], colour: Bool) -> String {
        var lines = ["Diagnosing \(subject)"]
        var steps: [String] = []
        for finding in findings where !steps.contains(finding.step ?? "") { steps.append(finding.step ?? "") }
        for step in steps {
            lines.append("")
            lines.append(Terminal.bold(step, colour: colour))
            for finding in findings where (finding.step ?? "") == step {
                lines.append("  " + Terminal.severity(finding.severity, colour: colour) + " \(finding.id): \(finding.message)")
                if !finding.fix.isEmpty { lines.append("      fix: \(finding.fix)") }
            }
        }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.filter { $0.severity == .warning }.count
        lines.append("")
        lines.append("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }

    static func json(url: String?, _ findings: [Finding]) -> String {
        var writer = JSONWriter()
        writer.value(["url": url.map(JSONValue.string) ?? .null, "findings": .array(findings.map(\.json))])
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Colour only for a person at a terminal (and never with NO_COLOR).
enum Terminal {
    static var showsColour: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    static func bold(_ text: String, colour: Bool) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }

    static func severity(_ severity: Finding.Severity, colour: Bool) -> String {
        let label = "[\(severity.rawValue)]"
        guard colour else { return label }
        let code = switch severity {
        case .error: "31"
        case .warning: "33"
        case .info: "32"
        }
        return "\u{1B}[\(code)m\(label)\u{1B}[0m"
    }
}

struct TokenDoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Explain why a server would accept or refuse an access token.",
        discussion: """
            Checks the token exactly as `gatehouse hub` (or `gateway`) would with the same settings: the \
            embedded authorization server's keys, or the provider set with WORKOS_AUTHKIT_DOMAIN, MCP_JWT_ISSUER, \
            MCP_INTROSPECTION_URL or static tokens. Prints what the token says (never the token or its signature) \
            and each finding with its id and the fix: expired (when, and the clock skew allowed), not yet valid, \
            issued by another issuer, for another audience (and the URL it should name; an audience that is the \
            client's own id means the resource indicator was never registered), unknown key, algorithm, missing \
            scopes. Exit status 1 when the server would refuse the token.

            Pass - as the token to read it from standard input, so it stays out of your shell history.

            Example:
              gatehouse doctor token - --resource https://mcp.example.com/mcp --env WORKOS_AUTHKIT_DOMAIN=https://x.authkit.app < token.txt
            """
    )

    @Argument(help: ArgumentHelp("The access token, or - to read it from standard input.", valueName: "token"))
    var token: String

    @Flag(help: "Print {\"token\": {…}, \"findings\": [{\"id\", \"severity\", \"message\", \"fix\"}]} as JSON.")
    var json = false

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let (loaded, logger) = try ServeSupport.load(options)
        var configuration = loaded
        // --resource URL (repeatable): the MCP endpoint the token must be for; default: the server's own.
        if !options.resources.isEmpty { configuration.auth.audiences = options.resources }
        let token = try readToken()
        let verdict: Result<Principal, VerificationFailure>
        do {
            guard let authenticator = try await GatehouseServer.tokenAuthenticator(configuration: configuration, logger: logger) else {
                printError("gatehouse: no provider is configured (--provider none accepts every caller); set the one the server uses")
                throw ExitCode(78)
            }
            do {
                verdict = .success(try await authenticator.verifier.verify(token))
            } catch {
                verdict = .failure(error)
            }
        } catch let problem as StartupProblem {
            // The token is still decoded and shown; the finding says why it cannot be checked.
            verdict = .failure(.providerUnavailable("the provider cannot be set up: \(problem)"))
        }
        let diagnosis = TokenDiagnosis(token: token, verdict: verdict, requiredScopes: configuration.auth.requiredScopes)
        print(json ? Self.json(diagnosis) : Self.text(diagnosis))
        if diagnosis.findings.contains(where: { $0.severity == .error }) { throw ExitCode.failure }
    }

    private func readToken() throws -> String {
        var text = token
        if token == "-" { text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.lowercased().hasPrefix("bearer ") { text = String(text.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
        guard !text.isEmpty else {
            printError("gatehouse: no token given; pass it as the argument or pipe it in with -")
            throw ExitCode(64)  // EX_USAGE
        }
        return text
    }

    static func text(_ diagnosis: TokenDiagnosis) -> String {
        var lines = ["The token says:"]
        lines += diagnosis.summary.map { "  " + $0.0.padding(toLength: 10, withPad: " ", startingAt: 0) + $0.1 }
        lines.append("Findings:")
        for finding in diagnosis.findings {
            lines.append("  [\(finding.severity.rawValue)] \(finding.id): \(finding.message)")
            if !finding.fix.isEmpty { lines.append("      fix: \(finding.fix)") }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ diagnosis: TokenDiagnosis) -> String {
        var token: [String: JSONValue] = [:]
        for (name, value) in diagnosis.summary { token[name] = .string(value) }
        var writer = JSONWriter()
        writer.value(["token": .object(token), "findings": .array(diagnosis.findings.map(\.json))])
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
