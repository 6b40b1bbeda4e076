import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseOAuth
import Logging

/// Signing in to the embedded authorization server through an upstream provider: after the
/// person consents, the browser goes to the provider with a fresh round trip stored by its
/// `state`; the provider's callback is matched to it once, the code redeemed, the person
/// provisioned by (issuer, subject), and the client's authorization approved for them.
public struct UpstreamLogin: Sendable {
    public let provider: any UpstreamProvider
    let server: AuthorizationServer
    let sessions: UpstreamSessions
    let secrets: SecretBox
    /// This server's callback URL, registered at the provider.
    public let callbackURL: String
    let logger: Logger
    let now: @Sendable () -> Date

    /// How long a person may take at the provider.
    static let roundTripLifetime: TimeInterval = 600

    public init(
        provider: any UpstreamProvider, server: AuthorizationServer, sessions: UpstreamSessions, secrets: SecretBox, callbackURL: String,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.provider = provider
        self.server = server
        self.sessions = sessions
        self.secrets = secrets
        self.callbackURL = callbackURL
        self.logger = logger
        self.now = now
    }

    /// Starts the round trip for an approved request; returns the provider URL to send the
    /// browser to.
    ///
    /// - Parameter rememberedUserID: the user whose remembered consent skipped the page; the
    ///   provider must then sign that same user in.
    public func begin(
        _ request: AuthorizationRequest, browserBinding: String, rememberedUserID: String?
    ) async throws(UpstreamLoginError) -> String {
        let trip = UpstreamRoundTrip.fresh(redirectURI: callbackURL)
        let url = try await provider.authorizationURL(for: trip)
        let secretsDocument: JSONValue = [
            "verifier": .string(trip.codeVerifier), "nonce": .string(trip.nonce), "browser": .string(browserBinding),
            "remembered_user": rememberedUserID.map(JSONValue.string) ?? .null,
        ]
        var writer = JSONWriter()
        writer.value(secretsDocument)
        do {
            // Sealed again now, so the time at the provider does not count against the page's.
            try await server.store.insertPendingLogin(
                PendingLogin(
                    stateHash: SecretToken.hash(trip.state), sealedRequest: try server.seal(request, browserBinding: browserBinding),
                    sealedSecrets: try secrets.seal(Data(writer.bytes), what: "a sign-in round trip"),
                    expiresAt: now().addingTimeInterval(Self.roundTripLifetime)))
        } catch {
            logger.error("cannot store a sign-in round trip", metadata: ["error": "\(error)"])
            throw .unavailable("the sign-in cannot be stored right now")
        }
        return url
    }

    /// Handles the provider's redirect back to ``callbackURL``.
    public func finish(_ query: FormParameters, browserBinding: String?) async -> CallbackOutcome {
        let startAgain = "start again from the application"
        guard let state = try? query.value("state") else {
            // RFC 6749 §4.1.2.1 requires the state on errors too; some providers leave it out,
            // and then there is no telling which application to answer.
            let error = (try? query.value("error")).flatMap { $0 }
            let message = error == "access_denied"
                ? "Signing in at \(provider.displayName) was cancelled. Go back to the application and start again."
                : "\(provider.displayName) answered without the sign-in's state (\(error ?? "no code either")); \(startAgain)."
            return .problem(UpstreamProblem(status: 400, message: message))
        }
        guard let pending = try? await server.store.takePendingLogin(stateHash: SecretToken.hash(state))
        else {
            return .problem(UpstreamProblem(status: 400, message: "This sign-in has expired or was already completed; \(startAgain)."))
        }
        guard pending.expiresAt > now(), let opened = try? secrets.openSealed(pending.sealedSecrets, what: "a sign-in round trip"),
            let fields = (try? JSONValue.parse(opened))?.objectValue, let verifier = fields["verifier"]?.stringValue,
            let nonce = fields["nonce"]?.stringValue
        else {
            return .problem(UpstreamProblem(status: 400, message: "This sign-in has expired; \(startAgain)."))
        }
        // The callback must reach the browser that consented (login CSRF, RFC 6749 §10.12).
        guard let browserBinding, fields["browser"]?.stringValue == browserBinding else {
            return .problem(UpstreamProblem(status: 400, message: "This sign-in was started in another browser; \(startAgain)."))
        }
        let request: AuthorizationRequest
        do {
            request = try await server.openPending(pending.sealedRequest, browserBinding: browserBinding).request
        } catch {
            return .problem(UpstreamProblem(status: 400, message: error.description))
        }
        if let error = try? query.value("error") {
            let description = (try? query.value("error_description")).flatMap { $0 } ?? ""
            return providerError(error, description: description, request: request)
        }
        guard let code = try? query.value("code") else {
            return .problem(UpstreamProblem(status: 400, message: "The identity provider sent neither a code nor an error; \(startAgain)."))
        }
        let trip = UpstreamRoundTrip(state: state, codeVerifier: verifier, nonce: nonce, redirectURI: callbackURL)
        do throws(UpstreamLoginError) {
            let signIn = try await provider.signIn(code: code, trip: trip)
            return await complete(signIn, request: request, rememberedUserID: fields["remembered_user"]?.stringValue)
        } catch {
            return failure(error, request: request)
        }
    }

    /// Provisions the person, remembers the consent, keeps the provider's tokens and issues the code.
    private func complete(_ signIn: UpstreamSignIn, request: AuthorizationRequest, rememberedUserID: String?) async -> CallbackOutcome {
        do {
            let user: LocalUser
            switch try await server.store.provisionUpstreamUser(
                signIn.identity, newUserID: SecretToken.generate(prefix: "usr_"), now: now())
            {
            case .user(let provisioned): user = provisioned
            case .emailTaken(let email):
                logger.notice("upstream sign-in refused: email belongs to another account", metadata: ["event": "upstream_email_taken"])
                return .returned(
                    redirect: server.errorRedirect(
                        OAuthError(.accessDenied, "the account \(email) already exists here with another sign-in method"), for: request),
                    problem: UpstreamProblem(
                        status: 409,
                        message: "An account with the email \(email) already exists on this server, made with another sign-in method. Accounts are never joined by email alone.",
                        fix: "Ask the operator to remove the other account, or sign in the way it was made."))
            }
            if let rememberedUserID, rememberedUserID != user.id {
                return .returned(
                    redirect: server.errorRedirect(
                        OAuthError(.accessDenied, "signed in as another account than the one that approved this application; try again"),
                        for: request),
                    problem: nil)
            }
            try await server.store.recordConsent(
                Consent(
                    userID: user.id, clientID: request.client.id, redirectURI: request.redirectURI, resource: request.resource,
                    scopes: request.scopes, grantedAt: now()))
            let sessionID = try await sessions.open(user: user, signIn: signIn)
            logger.info(
                "user signed in through the identity provider", metadata: ["event": "upstream_sign_in", "client_id": "\(request.client.id)"])
            GatehouseMetrics.signIn(method: "upstream", outcome: "succeeded")
            AuditLog.record(
                .signInSucceeded,
                [
                    "method": .string("upstream"), "provider": .string(provider.displayName), "sub": .string(user.id),
                    "email": .string(user.email), "upstream_subject": .string(signIn.identity.subject),
                ])
            return .approved(redirect: try await server.approve(request, user: user, loginSessionID: sessionID), user: user)
        } catch {
            logger.error("cannot complete an upstream sign-in", metadata: ["error": "\(error)"])
            return .problem(UpstreamProblem(status: 500, message: "The sign-in cannot be stored right now; start again in a minute."))
        }
    }

    /// Counts and audits a failed upstream sign-in.
    private func recordFailure(_ error: UpstreamLoginError, client: String) {
        let reason = switch error {
        case .denied: "denied"
        case .unavailable: "unavailable"
        case .misconfigured: "misconfigured"
        case .invalidResponse: "invalid_response"
        }
        GatehouseMetrics.signIn(method: "upstream", outcome: reason == "denied" ? "denied" : "failed")
        AuditLog.record(
            .signInFailed,
            ["method": "upstream", "provider": .string(provider.displayName), "reason": .string(reason), "client_id": .string(client)])
    }

    /// The provider's own error on the callback (RFC 6749 §4.1.2.1).
    private func providerError(_ code: String, description: String, request: AuthorizationRequest) -> CallbackOutcome {
        switch code {
        case "access_denied":
            return .returned(
                redirect: server.errorRedirect(OAuthError(.accessDenied, "the sign-in at \(provider.displayName) was cancelled or refused"), for: request),
                problem: nil)
        case "temporarily_unavailable", "server_error":
            return failure(.unavailable("\(provider.displayName) answered \(code)"), request: request)
        default:
            return failure(
                TokenEndpoint.classify(
                    code: code, description: description, status: 400, credentialSettings: "the upstream client id", redirectURI: callbackURL),
                request: request)
        }
    }

    /// A page for the person, with a way back to the application carrying the error.
    public func failure(_ error: UpstreamLoginError, request: AuthorizationRequest) -> CallbackOutcome {
        recordFailure(error, client: request.client.id)
        switch error {
        case .denied(let reason):
            logger.notice("upstream sign-in denied", metadata: ["event": "upstream_sign_in_denied", "reason": "\(reason)"])
            return .returned(redirect: server.errorRedirect(OAuthError(.accessDenied, reason), for: request), problem: nil)
        case .unavailable(let reason):
            logger.warning("the identity provider is unavailable", metadata: ["event": "upstream_unavailable", "reason": "\(reason)"])
            return .returned(
                redirect: server.errorRedirect(OAuthError(.temporarilyUnavailable, "\(provider.displayName) cannot be reached; try again shortly"), for: request),
                problem: UpstreamProblem(
                    status: 503, message: "\(provider.displayName) cannot be reached right now, so you cannot be signed in.",
                    fix: "Try again in a minute."))
        case .misconfigured(let problem, let fix):
            logger.error("upstream sign-in is misconfigured", metadata: ["event": "upstream_misconfigured", "problem": "\(problem)"])
            return .returned(
                redirect: server.errorRedirect(OAuthError(.serverError, "the server's sign-in is misconfigured"), for: request),
                problem: UpstreamProblem(status: 502, message: "Sign-in is misconfigured on this server: \(problem).", fix: "Operator: \(fix)."))
        case .invalidResponse(let reason):
            logger.warning("upstream sign-in refused", metadata: ["event": "upstream_sign_in_refused", "reason": "\(reason)"])
            return .returned(
                redirect: server.errorRedirect(OAuthError(.accessDenied, "the identity provider's answer was refused"), for: request),
                problem: UpstreamProblem(status: 502, message: "The sign-in could not be completed: \(reason)."))
        }
    }
}

/// What the callback leads to.
public enum CallbackOutcome: Sendable {
    /// Signed in and approved: the redirect carries the code.
    case approved(redirect: String, user: LocalUser)
    /// The client gets an error at `redirect`; with a `problem`, a page explains it first and
    /// links there, else the browser goes there at once.
    case returned(redirect: String, problem: UpstreamProblem?)
    /// Nothing trustworthy to redirect to (expired, replayed, another browser): a page only.
    case problem(UpstreamProblem)
}

/// A page explaining why signing in did not work.
public struct UpstreamProblem: Sendable, Equatable {
    public var status: Int
    public var message: String
    /// What to do about it, when the person or operator can do something.
    public var fix: String?

    public init(status: Int, message: String, fix: String? = nil) {
        self.status = status
        self.message = message
        self.fix = fix
    }
}
