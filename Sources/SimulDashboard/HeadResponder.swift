package import Hummingbird

/// Answers `HEAD` wherever `GET` is answered: the request goes through as a `GET`, and the reply keeps its status and
/// headers (`Content-Length` included) but loses its body. Load balancers and uptime checkers that probe with `HEAD`
/// then see `/healthz` and the pages as they are.
///
/// It wraps the whole router rather than adding `HEAD` routes, so paths that have no `GET` route (a 404) and requests
/// the guard refuses (401, 421) answer `HEAD` with the same status as `GET`, without a body either. A streamed body,
/// such as `/events`, is dropped without being started.
///
/// Hummingbird's `RouterOptions.autoGenerateHeadEndpoints` (in the 2.x release this package resolves today) adds a
/// `HEAD` to each `GET` route, but only to matched routes: the 404 of an unknown path would keep its body.
package struct HeadResponder<Base: HTTPResponder>: HTTPResponder {
    package typealias Context = Base.Context

    let base: Base

    /// Wraps `base`, which answers every other method as it is.
    package init(_ base: Base) { self.base = base }

    package func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        let response = try await base.respond(to: Request(head: head, body: request.body), context: context)
        // The headers are kept as they are: `Response` sets no `Content-Length` of its own when one is present.
        return Response(status: response.status, headers: response.headers, body: ResponseBody())
    }
}
