import Foundation
import GatehouseCore
import GatehouseOAuth
import HTTPTypes
import Hummingbird

/// The password form of the consent page: checks the email and password within the sign-in
/// throttle and approves the request (remembering the browser as the user's), or shows the page
/// again saying what went wrong.
struct PasswordSignIn: Sendable {
    let server: AuthorizationServer
    let cookies: BrowserCookies

    func submit(
        _ form: FormParameters, authorization: AuthorizationRequest, page: SignInPage.Form, _ context: some GatehouseContext
    ) async -> Response {
        let email = (try? form.value("email")) ?? ""
        let password = (try? form.value("password")) ?? ""
        /// The same page again, with what went wrong; the request stays pending.
        func again(_ problem: String, _ status: HTTPResponse.Status, retryAfter: Int? = nil) -> Response {
            var response = AuthorizationPages.page(
                SignInPage.consent(authorization, form: page, email: email, problem: problem), status: status,
                formTargets: [authorization.redirectURI])
            if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
            return response
        }
        let outcome: LocalUsers.SignIn
        do {
            outcome = try await server.users.signIn(email: email, password: password, from: context.remoteIP)
        } catch {
            // The store is down or busy: the person may simply try again.
            context.logger.error("sign-in failed: \(error)")
            return again("Sign-in cannot be checked right now; try again in a few seconds.", .serviceUnavailable, retryAfter: 5)
        }
        switch outcome {
        case .signedIn(let user):
            context.logger.info("user approved an authorization", metadata: ["client_id": "\(authorization.client.id)"])
            do {
                var response = AuthorizationPages.redirect(try await server.approve(authorization, user: user))
                // The browser is now known as the user's: the connect pages recognise them.
                if let session = try? server.sealBrowserSession(userID: user.id) { response.setCookie(cookies.session(session)) }
                return response
            } catch {
                context.logger.error("cannot issue an authorization code: \(error)")
                return AuthorizationPages.unavailable()
            }
        case .refused(let block):
            return again(["Wrong email or password.", block.map(SignInPage.wait)].compactMap { $0 }.joined(separator: " "), .unauthorized)
        case .throttled(let block):
            return again(SignInPage.wait(block), .tooManyRequests, retryAfter: block.retryAfter)
        case .busy:
            return again("The server is busy checking other sign-ins. Try again in a few seconds.", .serviceUnavailable, retryAfter: 5)
        }
    }
}
