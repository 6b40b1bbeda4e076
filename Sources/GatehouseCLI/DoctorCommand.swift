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
        subcommands: [TokenDoctorCommand.self]
    )
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
        let (loaded, logger) = try ServeSupport.start(options)
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
