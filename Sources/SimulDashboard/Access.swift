import Foundation
package import Hummingbird

/// Who may read and who may act: the dashboard's security model (docs/dashboard.md).
///
/// - Without a token the dashboard listens on loopback only; anyone on this machine may read, nobody may act.
/// - With a token, actions need it: an `Authorization: Bearer` header, or the session cookie that `/login` sets after
///   checking the token. The cookie holds a random session id from ``SessionTable``, never the token. A cookie-borne
///   action must also carry the per-process CSRF token from the page's form and come from the dashboard's own origin
///   (`Origin`, else `Referer`). Off loopback, reading needs the token or a session too.
/// - On loopback, a request must name a loopback host, so a DNS-rebinding page cannot read it.
package struct Access: Sendable {
    /// The cookie that holds the session id after `/login`.
    package static let cookieName = "simul_dashboard_session"

    /// The token; `nil` when actions are off.
    package let token: String?
    /// A random value, fresh per process, that every action form carries.
    package let csrf: String
    /// Whether the server listens on a loopback address only.
    package let loopback: Bool
    /// The browsers signed in with the token.
    package let sessions: SessionTable

    /// The access rules for a dashboard.
    /// - Parameters:
    ///   - token: the token; `nil` or empty turns actions off.
    ///   - loopback: whether the server listens on a loopback address only.
    ///   - csrf: the value every action form carries.
    ///   - sessions: the table of signed-in browsers.
    package init(
        token: String?, loopback: Bool, csrf: String = Access.randomToken(), sessions: SessionTable = SessionTable()
    ) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.loopback = loopback
        self.csrf = csrf
        self.sessions = sessions
    }

    /// Whether actions are on at all.
    package var actionsEnabled: Bool { token != nil }

    /// Whether `host` (a `--host` value) is a loopback address.
    package static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// 32 random bytes as hex.
    package static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// How a request proved it holds the token.
    package enum Credential: Equatable {
        case none
        case bearer
        case cookie
    }

    /// The token the request carries, and how: a Bearer header, or the cookie of an open session.
    package func credential(of request: Request) -> Credential {
        guard let token else { return .none }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEquals(String(header.dropFirst("Bearer ".count)), token)
        {
            return .bearer
        }
        if let session = Self.cookie(Self.cookieName, in: request), sessions.isOpen(session) {
            return .cookie
        }
        return .none
    }

    /// The `Set-Cookie` value that hands a browser the session `id` for the pages under `path` (`/` at the root); it
    /// lasts as long as the session.
    package func sessionCookie(_ id: String, path: String) -> String {
        let seconds = sessions.lifetime.components.seconds
        return "\(Self.cookieName)=\(id); Path=\(path); Max-Age=\(seconds); HttpOnly; SameSite=Strict"
    }

    /// Why a request with a session cookie but no open session is refused.
    package static let endedSession = "the session is unknown or has ended: log in again"

    /// The `Set-Cookie` value that makes a browser drop its session cookie for the pages under `path`.
    package static func clearedCookie(path: String) -> String {
        "\(cookieName)=; Path=\(path); Max-Age=0; HttpOnly; SameSite=Strict"
    }

    /// Whether the request may read pages and the API.
    package func mayRead(_ request: Request) -> Bool {
        loopback || credential(of: request) != .none
    }

    /// Whether the request's `Host` is acceptable: any host off loopback (the token guards it), a loopback name on it.
    package func acceptsHost(_ request: Request) -> Bool {
        guard loopback, let authority = request.head.authority else { return true }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix { $0 != "]" }.dropFirst()
        } else {
            host = authority.prefix { $0 != ":" }
        }
        return Self.isLoopback(String(host))
    }

    /// Why an action is refused, or `nil` when it may go ahead.
    /// - Parameter form: the posted form fields.
    package func refusal(ofAction request: Request, form: [String: String]) -> (HTTPResponse.Status, String)? {
        guard actionsEnabled else {
            return (.forbidden, "actions are off: start the dashboard with --token or SIMUL_DASHBOARD_TOKEN")
        }
        switch credential(of: request) {
        case .none where Self.cookie(Self.cookieName, in: request) != nil:
            return (.unauthorized, Self.endedSession)
        case .none:
            return (.unauthorized, "actions need the dashboard token (log in, or send Authorization: Bearer TOKEN)")
        case .bearer:
            return nil
        case .cookie:
            guard let sent = form["csrf"], Self.constantTimeEquals(sent, csrf) else {
                return (.forbidden, "the form's CSRF token is missing or stale: reload the page")
            }
            guard sameOrigin(request) else {
                return (.forbidden, "the request did not come from the dashboard's pages")
            }
            return nil
        }
    }

    /// Whether `Origin` (or, without it, `Referer`) names the host the request was sent to.
    package func sameOrigin(_ request: Request) -> Bool {
        guard let host = request.head.authority else { return false }
        let origins = ["http://\(host)", "https://\(host)"]
        if let origin = request.headers[.origin] { return origins.contains(origin) }
        if let referer = request.headers[.referer] { return origins.contains { referer.hasPrefix($0 + "/") } }
        return false
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the token.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
