/// The Debian packages a driver installs when their command is missing (chromium, redis-server), as the shell scripts
/// did: `command -v`, then `apt-get` as root.
package enum Debian {
    /// Whether `command` is on `PATH`.
    package static func has(_ command: String) throws -> Bool {
        try ChildProcess.run(["sh", "-c", "command -v \"$0\"", command], output: .discard) == 0
    }

    /// Installs the package `name` with `apt-get update` and `apt-get install`, quietly.
    /// - Throws: ``DriverError`` if apt-get fails.
    package static func install(_ name: String) throws {
        let install = "apt-get update -qq && apt-get install -y -qq \"$0\" >/dev/null"
        guard try ChildProcess.run(["sh", "-c", install, name]) == 0 else {
            throw DriverError("\(name) is not installed and apt-get could not install it")
        }
    }
}
