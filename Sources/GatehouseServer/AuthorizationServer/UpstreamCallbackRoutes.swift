import Foundation
import GatehouseCore
import GatehouseLogin
import GatehouseOAuth
import HTTPTypes
import Hummingbird

/// `/auth/callback`: where the identity provider sends the browser back. The round trip is
/// matched by its `state` and this browser's binding; a completed sign-in continues to the
/// client with a code and remembers the browser as the user's.
struct UpstreamCallbackRoutes: Sendable {
    static let path = "/auth/callback"

    let upstream: UpstreamLogin
    let server: AuthorizationServer
    let cookies: BrowserCookies

    func register<Context: GatehouseContext>(on router: Router<Context>) {
        router.get(RouterPath(Self.path)) { request, context in
            let query = FormParameters(encoded: request.uri.query ?? "") ?? FormParameters([:])
            let outcome = await upstream.finish(query, browserBinding: cookies.binding(request))
            var response = Self.respond(outcome)
            if case .approved(_, let user) = outcome, let sealed = try? server.sealBrowserSession(userID: user.id) {
                response.setCookie(cookies.session(sealed))
            }
            return response
        }
    }

    /// The redirect or page an outcome stands for.
    static func respond(_ outcome: CallbackOutcome) -> Response {
        switch outcome {
        case .approved(let redirect, _), .returned(let redirect, nil):
            return AuthorizationPages.redirect(redirect)
        case .returned(let redirect, let problem?):
            return AuthorizationPages.page(SignInPage.problem(problem, returnTo: redirect), status: status(problem))
        case .problem(let problem):
            return AuthorizationPages.page(SignInPage.problem(problem, returnTo: nil), status: status(problem))
        }
    }

    private static func status(_ problem: UpstreamProblem) -> HTTPResponse.Status {
        HTTPResponse.Status(code: problem.status)
    }
}
