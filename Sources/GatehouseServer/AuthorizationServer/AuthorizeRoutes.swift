import Foundation
import GatehouseCore
import GatehouseOAuth
import HTTPTypes
import Hummingbird
import NIOCore

/// `/authorize`: checks the request, shows the sign-in and consent page (or, with
/// auto-approval, signs the dev user in at once), and redirects back to the client.
struct AuthorizeRoutes: Sendable {
    let server: AuthorizationServer
    let pending: PendingAuthorizations
    /// The user every request is approved for without a page; `nil` shows the page.
    let autoApproveUser: String?
    /// True when the issuer is https, so the CSRF cookie can be `Secure`.
    let secureCookies: Bool

    /// The cookie binding sign-in pages to the browser that loaded them.
    static let browserCookie = "gatehouse_browser"

    /// Mounts `/authorize`; the page and its form get no CORS (the form is cookie-bound).
    func register<Context: GatehouseContext>(on router: Router<Context>) {
        router.get("/authorize") { request, context in await start(request, context) }
        router.post("/authorize") { request, context in await decide(request, context) }
    }

    private func start(_ request: Request, _ context: some GatehouseContext) async -> Response {
        guard let parameters = FormParameters(encoded: request.uri.query ?? "") else {
            return page(SignInPage.refusal(OAuthError(.invalidRequest, "the query string is malformed")), status: .badRequest)
        }
        switch await server.checkAuthorization(parameters) {
        case .refused(let error):
            return page(SignInPage.refusal(error), status: .badRequest)
        case .redirect(let location):
            return redirect(location)
        case .valid(let authorization):
            if let autoApproveUser {
                do {
                    let user = try await server.users.devUser(email: autoApproveUser)
                    return redirect(try await server.approve(authorization, user: user))
                } catch {
                    context.logger.error("cannot approve for the dev user: \(error)")
                    return page(SignInPage.refusal(OAuthError(.serverError, "the store cannot be reached")), status: .internalServerError)
                }
            }
            let binding = Self.browserBinding(request) ?? SecretToken.generate()
            let (id, csrfToken) = await pending.add(authorization, browserBinding: binding)
            let noUsersYet = (try? await server.store.localUserCount()) == 0
            var response = page(
                SignInPage.consent(authorization, requestID: id, csrfToken: csrfToken, noUsersYet: noUsersYet), status: .ok,
                formTarget: authorization.redirectURI)
            response.setCookie(cookie(binding))
            return response
        }
    }

    private func decide(_ request: Request, _ context: some GatehouseContext) async -> Response {
        let form: FormParameters
        let requestID: String
        do {
            form = try await OAuthHTTP.form(request)
            requestID = try form.required("request_id")
        } catch {
            return page(SignInPage.refusal(error), status: .badRequest)
        }
        let formToken = try? form.value("csrf_token")
        guard
            let authorization = await pending.request(
                id: requestID, formToken: formToken, browserBinding: Self.browserBinding(request))
        else {
            return page(
                SignInPage.refusal(
                    OAuthError(.invalidRequest, "this sign-in page has expired or was not opened in this browser; start again from the application")),
                status: .badRequest)
        }
        if (try? form.value("decision")) == "deny" {
            await pending.remove(id: requestID)
            return redirect(server.deny(authorization))
        }
        let email = (try? form.value("email")) ?? ""
        let password = (try? form.value("password")) ?? ""
        let outcome: LocalUsers.SignIn
        do {
            outcome = try await server.users.signIn(email: email, password: password, from: context.remoteIP)
        } catch {
            context.logger.error("sign-in failed: \(error)")
            return page(SignInPage.refusal(OAuthError(.serverError, "the store cannot be reached")), status: .internalServerError)
        }
        /// The same page again, with what went wrong; the request stays pending.
        func again(_ problem: String, _ status: HTTPResponse.Status, retryAfter: Int? = nil) async -> Response {
            guard let csrfToken = await pending.csrfToken(id: requestID) else {
                return page(SignInPage.refusal(OAuthError(.invalidRequest, "this sign-in page has expired; start again from the application")), status: .badRequest)
            }
            var response = page(
                SignInPage.consent(authorization, requestID: requestID, csrfToken: csrfToken, email: email, problem: problem),
                status: status, formTarget: authorization.redirectURI)
            if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
            return response
        }
        switch outcome {
        case .signedIn(let user):
            await pending.remove(id: requestID)
            context.logger.info("user approved an authorization", metadata: ["client_id": "\(authorization.client.id)"])
            do {
                return redirect(try await server.approve(authorization, user: user))
            } catch {
                context.logger.error("cannot issue an authorization code: \(error)")
                return page(SignInPage.refusal(OAuthError(.serverError, "the store cannot be reached")), status: .internalServerError)
            }
        case .refused(let block):
            return await again(["Wrong email or password.", block.map(SignInPage.wait)].compactMap { $0 }.joined(separator: " "), .unauthorized)
        case .throttled(let block):
            return await again(SignInPage.wait(block), .tooManyRequests, retryAfter: block.retryAfter)
        case .busy:
            return await again("The server is busy checking other sign-ins. Try again in a few seconds.", .serviceUnavailable, retryAfter: 5)
        }
    }

    /// 303 so that a POST is followed by a GET of the client's redirect URI.
    private func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
    }

    /// An HTML page that cannot be framed (clickjacking) or cached, and runs no script.
    /// Chromium applies `form-action` to the redirect after the form, so the client's
    /// redirect origin is allowed there too.
    private func page(_ html: String, status: HTTPResponse.Status, formTarget: String? = nil) -> Response {
        var formAction = "'self'"
        if let formTarget, let components = URLComponents(string: formTarget), let scheme = components.scheme {
            if let host = components.host, ["http", "https"].contains(scheme.lowercased()) {
                formAction += " \(scheme)://\(host.contains(":") ? "[\(host)]" : host)\(components.port.map { ":\($0)" } ?? "")"
            } else {
                formAction += " \(scheme):"
            }
        }
        let headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; style-src 'unsafe-inline'; form-action \(formAction); frame-ancestors 'none'; base-uri 'none'",
            .xFrameOptions: "DENY",
            .referrerPolicy: "no-referrer",
            .xContentTypeOptions: "nosniff",
        ]
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func cookie(_ binding: String) -> Cookie {
        Cookie(name: Self.browserCookie, value: binding, maxAge: 600, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The browser binding from the request's cookie, when it has the form Gatehouse gives it
    /// (43 base64url characters); anything else is ignored and replaced.
    static func browserBinding(_ request: Request) -> String? {
        guard let value = request.cookies[browserCookie]?.value, value.utf8.count == 43,
            value.utf8.allSatisfy(Base64URL.isAlphabetCharacter)
        else { return nil }
        return value
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
