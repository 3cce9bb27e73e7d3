import Foundation
import SimulProcessSupport

/// Headless Chromium as the browser test drives it: the DOM of a page after its scripts ran, with the messages the
/// page wrote to its console, and screenshots. The dashboard's pages and the pictures' pages are loaded the same way.
struct Chromium {
    /// Its profile directory.
    let profile: String
    /// Where its messages go, except a dump's console.
    let log: String

    /// Its command line before what it is asked to do.
    private var command: [String] {
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(profile)",
        ]
    }

    /// The DOM of `url` after its scripts ran, into `file`, and Chromium's log of it into `file.console`.
    /// - Returns: the lines of that log that report the page's console: `console.error` and the other levels,
    ///   uncaught exceptions, and resources that failed to load.
    /// - Throws: ``DriverError`` if Chromium fails or takes more than 60 s.
    @discardableResult
    func dump(_ url: String, to file: String) throws -> [String] {
        let console = "\(file).console"
        let code = try ChildProcess.run(
            command + ["--enable-logging=stderr", "--log-level=0", "--dump-dom", url], output: .file(file),
            error: .file(console), limit: 60)
        try require(code == 0, "chromium --dump-dom \(url): exit \(code)")
        return contents(console).split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
    }

    /// A screenshot of `url` in a window of `width` by `height` into `file`.
    /// - Throws: ``DriverError`` if Chromium fails, takes more than 60 s, or writes nothing.
    func screenshot(_ url: String, to file: String, width: Int = 1400, height: Int = 1000) throws {
        try? FileManager.default.removeItem(atPath: file)
        let code = try ChildProcess.run(
            command + ["--hide-scrollbars", "--window-size=\(width),\(height)", "--screenshot=\(file)", url],
            output: .file(log, append: true), error: .standardOutput, limit: 60)
        try require(code == 0, "chromium --screenshot \(url): exit \(code)")
        let size = (try? Data(contentsOf: URL(fileURLWithPath: file)).count) ?? 0
        try require(size > 0, "no screenshot \(file)")
        printOutput("screenshot: \(file)")
    }

    /// Checks that Chromium reports a page's console at all: a page that writes an error must show it, so that an
    /// empty report from ``dump(_:to:)`` means a quiet page rather than a Chromium that logs elsewhere.
    /// - Throws: ``DriverError`` if the probe's error is not reported.
    func checkConsoleIsReported(work: String) throws {
        let probe = "\(work)/console-probe.html"
        try Data(#"<!doctype html><script>console.error("simul-console-probe")</script>"#.utf8)
            .write(to: URL(fileURLWithPath: probe))
        let dom = "\(work)/console-probe.dom.html"
        let messages = try dump("file://\(probe)", to: dom)
        try require(
            messages.contains { $0.contains("simul-console-probe") },
            "chromium did not report a page's console.error (its log: \(dom).console)")
        ok("chromium reports a page's console errors")
    }
}

/// Throws ``DriverError`` `failure` unless `condition` holds: the shell script's `[ ... ] || fail ...`.
func require(_ condition: Bool, _ failure: @autoclosure () -> String) throws {
    guard condition else { throw DriverError(failure()) }
}

/// The text of `file`, empty if it cannot be read.
func contents(_ file: String) -> String {
    (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
}

/// Checks that the page dumped into `file` has `text`.
func expect(_ file: String, has text: String, _ what: String) throws {
    try require(contents(file).contains(text), "\(what): '\(text)' is not on the page (DOM in \(file))")
    ok(what)
}

/// Checks that the page dumped into `file` does not have `text`.
func expect(_ file: String, hasNo text: String, _ what: String) throws {
    try require(!contents(file).contains(text), "\(what): '\(text)' is on the page (DOM in \(file))")
    ok(what)
}
