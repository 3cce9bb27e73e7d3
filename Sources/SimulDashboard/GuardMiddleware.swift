import Foundation
import HTTPTypes
import Hummingbird
import SimulQueue
import Mustache
import NIOCore

/// Runs before every route: refuses hosts and readers that ``Access`` does not accept, turns a failure to reach the
/// broker into a 503 with one line, and adds the security headers to every response.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: Access
    /// The templates its refusal pages are rendered with.
    let templates: MustacheLibrary
    /// The path the dashboard is mounted at, empty at the root.
    let base: String

    /// Paths anyone may load, even where reading needs the token. `/logout` is among them so that a browser whose
    /// session has already ended can still clear its cookie; it checks the CSRF token and the origin itself.
    static func isPublic(_ path: String) -> Bool {
        path == "/login" || path == "/logout" || path == "/healthz" || path.hasPrefix("/assets/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response: Response
        let path = String(request.uri.path.dropFirst(base.count))
        let wantsJSON = path.hasPrefix("/api/") || path == "/metrics" || path == "/events"
        if !access.acceptsHost(request) {
            response = refuse(
                .misdirectedRequest, "this dashboard answers to loopback host names only", json: wantsJSON)
        } else if !Self.isPublic(path) && !access.mayRead(request) {
            let ended = Access.cookie(Access.cookieName, in: request) != nil
            let message = ended ? Access.endedSession : "this dashboard needs its token: log in at /login"
            response = refuse(.unauthorized, message, json: wantsJSON)
        } else {
            do {
                response = try await next(request, context)
            } catch let error as any HTTPResponseError {
                // The router's own refusals (no such route, a body too large): our page and headers, one line.
                let message =
                    error.status == .notFound ? "there is no page at \(request.uri.path)" : error.status.reasonPhrase
                response = refuse(error.status, message, json: wantsJSON)
            } catch let error as QueueError where error.isUnsupported {
                response = refuse(.notImplemented, error.message, json: wantsJSON)
            } catch {
                response = refuse(.serviceUnavailable, "cannot reach the broker: \(error)", json: wantsJSON)
            }
        }
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    func refuse(_ status: HTTPResponse.Status, _ message: String, json: Bool) -> Response {
        if json {
            return Dashboard.json(["error": message], status: status)
        }
        // A refusal page knows nothing of the viewer, so it offers no account links of its own.
        let page = Pages(
            templates: templates, access: Access(token: nil, loopback: true), signedIn: false, base: base)
        return Dashboard.html(page.error(status.code, message, logInLink: status == .unauthorized), status: status)
    }
}
