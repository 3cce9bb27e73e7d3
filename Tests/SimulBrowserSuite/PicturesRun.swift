import Foundation
import SimulProcessSupport

/// The pictures in headless Chromium (docs/demos.md): the page `simul demo cakes primes --quick --html` writes and
/// the report `simul bench cpu io --quick --compare-python --report` writes, each checked for what a learner should
/// see and for a quiet console, with a screenshot the size of `docs/demo-timelines.png`.
struct PicturesRun {
    let test: BrowserTest

    /// The screenshots' window, in pixels: that of the pictures kept in `docs/`.
    static let window = (width: 1000, height: 1340)

    func run() throws {
        say("pictures: simul demo --html")
        let demo = "\(test.work)/demo.html"
        try simul(["demo", "cakes", "primes", "--quick", "--html", demo], log: "demo.log")
        let demoDOM = try load(demo, as: "demo-dom.html")
        try expect(demoDOM, has: "<h2>cakes</h2>", "pictures: the demo page has the cakes' timelines")
        try expect(demoDOM, has: "<h2>primes</h2>", "pictures: the demo page has the primes' timelines")
        try expect(demoDOM, has: #"<rect class="unit""#, "pictures: the demo page draws units of work")
        try expect(demoDOM, hasNo: "units of work not recorded", "pictures: every model of the demo page has lanes")
        try screenshot(demo, as: "demo-timelines")

        say("pictures: simul bench --report")
        let bench = "\(test.work)/bench.html"
        try simul(["bench", "cpu", "io", "--quick", "--compare-python", "--report", bench], log: "bench.log")
        let benchDOM = try load(bench, as: "bench-dom.html")
        for suite in ["cpu", "io"] {
            try expect(
                benchDOM, has: "\(suite): the models side by side",
                "pictures: the bench report compares \(suite)'s models")
        }
        try expect(benchDOM, has: "· python", "pictures: the bench report has Python beside the models")
        try screenshot(bench, as: "bench-report")
    }

    /// `simul ARGUMENTS`, its output into `log` in the working directory.
    /// - Throws: ``DriverError`` if it exits non-zero.
    private func simul(_ arguments: [String], log: String) throws {
        let code = try ChildProcess.run(
            [test.simul] + arguments, output: .file("\(test.work)/\(log)"), error: .standardOutput, limit: 600)
        try require(
            code == 0, "simul \(arguments.prefix(2).joined(separator: " ")): exit \(code) (\(test.work)/\(log))")
    }

    /// The DOM of the page `file` into `name` in the working directory, which must come with no console message.
    /// - Throws: ``DriverError`` if Chromium fails or the page wrote to the console.
    private func load(_ file: String, as name: String) throws -> String {
        let dom = "\(test.work)/\(name)"
        let messages = try test.chromium.dump("file://\(file)", to: dom)
        try require(
            messages.isEmpty,
            "\(file) wrote to the console:\n" + messages.joined(separator: "\n"))
        ok("\(URL(fileURLWithPath: file).lastPathComponent) renders without console messages")
        return dom
    }

    private func screenshot(_ file: String, as name: String) throws {
        try test.chromium.screenshot(
            "file://\(file)", to: "\(test.shots)/\(name).png", width: Self.window.width, height: Self.window.height)
    }
}
