import Foundation
import GatehouseOAuth
import HTTPTypes
import Hummingbird
import NIOCore

/// Responses of the sign-in pages: HTML that cannot be framed (clickjacking) or cached and runs
/// no script, and the redirects between them.
enum AuthorizationPages {
    /// 303 so that a POST is followed by a GET of the next URL.
    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
    }

    /// `html` with the page headers. Chromium applies `form-action` to the redirects after a
    /// form, so the origins a form may lead to (the client's redirect URI, the identity
    /// provider) are allowed there too.
    static func page(_ html: String, status: HTTPResponse.Status, formTargets: [String] = []) -> Response {
        var formAction = "'self'"
        for target in formTargets {
            guard let components = URLComponents(string: target), let scheme = components.scheme else { continue }
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

    /// 503 with `Retry-After`: the store is down or busy, so nothing can be decided now; the
    /// person may start again from the application in a few seconds.
    static func unavailable() -> Response {
        var response = page(
            SignInPage.refusal(OAuthError(.temporarilyUnavailable, "the server cannot reach its store right now; try again in a few seconds")),
            status: .serviceUnavailable)
        response.headers[.retryAfter] = "5"
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
}
