import Foundation
import GatehouseCore
import GatehouseLogin
import GatehouseOAuth
import HTTPTypes
import Hummingbird

/// How people sign in on the consent page.
enum SignInMethod: Sendable {
    /// Email and password from the authorization server's own directory.
    case password
    /// Through an upstream identity provider, after consenting here.
    case upstream(UpstreamLogin)
}

/// `/authorize`: checks the request, shows the consent page (with the sign-in the method asks
/// for) or, with auto-approval, signs the dev user in at once, and redirects back to the client
/// or on to the identity provider.
struct AuthorizeRoutes: Sendable {
    let server: AuthorizationServer
    let method: SignInMethod
    /// The user every request is approved for without a page; `nil` shows the page.
    let autoApproveUser: String?
    let cookies: BrowserCookies

    /// Whether people sign in here with a password (else through an upstream provider).
    var signsInWithPassword: Bool {
        if case .password = method { return true }
        return false
    }

    /// Mounts `/authorize`; the page and its form get no CORS (the form is cookie-bound).
    func register<Context: GatehouseContext>(on router: Router<Context>) {
        router.get("/authorize") { request, context in await start(request, context) }
        router.post("/authorize") { request, context in await decide(request, context) }
    }

    private func start(_ request: Request, _ context: some GatehouseContext) async -> Response {
        guard let parameters = FormParameters(encoded: request.uri.query ?? "") else {
            return refusal(OAuthError(.invalidRequest, "the query string is malformed"), status: .badRequest)
        }
        let authorization: AuthorizationRequest
        switch await server.checkAuthorization(parameters) {
        case .refused(let error): return refusal(error, status: .badRequest)
        case .redirect(let location): return AuthorizationPages.redirect(location)
        case .valid(let valid): authorization = valid
        }
        if let autoApproveUser {
            do {
                let user = try await server.users.devUser(email: autoApproveUser)
                var response = AuthorizationPages.redirect(try await server.approve(authorization, user: user))
                // The browser is known as the dev user, once: not a new cookie on every authorization.
                if cookies.sessionUser(request, server: server) != user.id, let session = try? server.sealBrowserSession(userID: user.id) {
                    response.setCookie(cookies.session(session))
                }
                return response
            } catch {
                context.logger.error("cannot approve for the dev user: \(error)")
                return AuthorizationPages.unavailable()
            }
        }
        let binding = cookies.binding(request) ?? SecretToken.generate()
        var response: Response
        do {
            switch method {
            case .password:
                let noUsersYet = (try? await server.store.localUserCount()) == 0
                response = AuthorizationPages.page(
                    SignInPage.consent(authorization, form: try consentForm(authorization, binding), noUsersYet: noUsersYet),
                    status: .ok, formTargets: [authorization.redirectURI])
            case .upstream(let upstream):
                if let userID = cookies.sessionUser(request, server: server),
                    let consent = try? await server.store.consent(userID: userID, clientID: authorization.client.id),
                    consent.covers(authorization)
                {
                    // Consent remembered for this user and client: straight on to the provider.
                    response = await toProvider(upstream, binding: binding, rememberedUserID: userID, authorization, context)
                } else {
                    response = AuthorizationPages.page(
                        SignInPage.upstreamConsent(
                            authorization, form: try consentForm(authorization, binding), provider: upstream.provider.displayName),
                        status: .ok, formTargets: [authorization.redirectURI] + (await providerOrigin(upstream)))
                }
            }
        } catch {
            context.logger.error("cannot seal an authorization request: \(error)")
            return refusal(OAuthError(.serverError, "the server has no key to protect the sign-in page with"), status: .internalServerError)
        }
        response.setCookie(cookies.binding(binding, crossSiteReturn: isUpstream))
        return response
    }

    private func decide(_ request: Request, _ context: some GatehouseContext) async -> Response {
        let form: FormParameters
        let sealed: String
        do {
            form = try await OAuthHTTP.form(request)
            sealed = try form.required("request_id")
        } catch {
            return refusal(error, status: .badRequest)
        }
        let binding = cookies.binding(request)
        let pending: PendingAuthorization
        do throws(OAuthError) {
            // The form's CSRF token must be the one derived from this browser's binding, and the
            // sealed request must have been made for it.
            guard let binding, (try? form.value("csrf_token")) == BrowserCookies.csrfToken(binding: binding) else {
                throw OAuthError(
                    .invalidRequest, "this sign-in page has expired or was not opened in this browser; start again from the application")
            }
            pending = try await server.openPending(sealed, browserBinding: binding)
        } catch {
            return refusal(error, status: .badRequest)
        }
        let authorization = pending.request
        if (try? form.value("decision")) == "deny" {
            return AuthorizationPages.redirect(server.deny(authorization))
        }
        switch method {
        case .password:
            return await PasswordSignIn(server: server, cookies: cookies).submit(
                form, authorization: authorization, page: self.form(sealed, pending.browserBinding), context)
        case .upstream(let upstream):
            var response = await toProvider(upstream, binding: pending.browserBinding, rememberedUserID: nil, authorization, context)
            // The binding must outlive the time at the provider: its cookie starts again now.
            response.setCookie(cookies.binding(pending.browserBinding, crossSiteReturn: true))
            return response
        }
    }

    /// Starts the round trip to the provider; a provider that cannot be reached gets a page.
    private func toProvider(
        _ upstream: UpstreamLogin, binding: String, rememberedUserID: String?, _ authorization: AuthorizationRequest,
        _ context: some GatehouseContext
    ) async -> Response {
        do {
            let url = try await upstream.begin(authorization, browserBinding: binding, rememberedUserID: rememberedUserID)
            context.logger.info("sending a sign-in to the identity provider", metadata: ["client_id": "\(authorization.client.id)"])
            return AuthorizationPages.redirect(url)
        } catch {
            return UpstreamCallbackRoutes.respond(upstream.failure(error, request: authorization))
        }
    }

    private var isUpstream: Bool {
        if case .upstream = method { return true }
        return false
    }

    /// The origin of the provider's authorization endpoint, for the page's `form-action`.
    private func providerOrigin(_ upstream: UpstreamLogin) async -> [String] {
        (try? await upstream.provider.authorizationURL(for: .fresh(redirectURI: upstream.callbackURL))).map { [$0] } ?? []
    }

    private func form(_ sealed: String, _ binding: String) -> SignInPage.Form {
        SignInPage.Form(requestID: sealed, csrfToken: BrowserCookies.csrfToken(binding: binding))
    }

    /// The hidden fields of a new consent page: `authorization` sealed for the browser.
    private func consentForm(_ authorization: AuthorizationRequest, _ binding: String) throws -> SignInPage.Form {
        form(try server.seal(authorization, browserBinding: binding), binding)
    }

    private func refusal(_ error: OAuthError, status: HTTPResponse.Status) -> Response {
        AuthorizationPages.page(SignInPage.refusal(error), status: status)
    }
}
