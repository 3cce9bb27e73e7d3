import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway certificate authority, and a server and a client certificate it signs, made by `openssl` in a
/// directory of its own: what the TLS tests and the TLS benchmark give `redis-server` and the client. They are valid
/// for two days.
package struct ThrowawayCertificates: Sendable {
    /// Where the files are.
    package let directory: String

    /// The authority's certificate: what a client trusts (`ssl_ca_certs`), and what the server checks clients with.
    package var authority: String { "\(directory)/ca.crt" }
    /// The server's certificate, for the names it was made for.
    package var serverCertificate: String { "\(directory)/server.crt" }
    package var serverKey: String { "\(directory)/server.key" }
    /// A client certificate (`ssl_certfile`) and its key (`ssl_keyfile`), for servers that ask for one.
    package var clientCertificate: String { "\(directory)/client.crt" }
    package var clientKey: String { "\(directory)/client.key" }

    /// Makes an authority, a server certificate for `serverNames` (openssl's `subjectAltName` entries) and a client
    /// certificate in `directory`.
    /// - Throws: ``Failure`` if `openssl` cannot be run or fails.
    package static func make(
        in directory: String, serverNames: [String] = ["DNS:localhost", "IP:127.0.0.1"]
    ) throws -> ThrowawayCertificates {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = ThrowawayCertificates(directory: directory)
        let leaf = ["-addext", "basicConstraints=critical,CA:FALSE", "-CA", certificates.authority]
        try openssl(["-keyout", "\(directory)/ca.key", "-out", certificates.authority, "-subj", "/CN=simul-test-ca"])
        try openssl(
            [
                "-keyout", certificates.serverKey, "-out", certificates.serverCertificate, "-subj",
                "/CN=simul-test-server",
            ]
                + ["-addext", "subjectAltName=\(serverNames.joined(separator: ","))"] + leaf
                + ["-CAkey", "\(directory)/ca.key"])
        try openssl(
            ["-keyout", certificates.clientKey, "-out", certificates.clientCertificate, "-subj", "/CN=simul-client"]
                + leaf + ["-CAkey", "\(directory)/ca.key"])
        return certificates
    }

    /// Makes `server-expired.crt`: the server's key and `serverNames`, signed by the authority, valid only on
    /// 1 January 2020. `openssl ca` is the one of openssl's commands that takes dates in the past.
    /// - Returns: its path.
    /// - Throws: ``Failure`` if `openssl` fails.
    package func makeExpiredServerCertificate(
        serverNames: [String] = ["DNS:localhost", "IP:127.0.0.1"]
    ) throws -> String {
        let request = "\(directory)/server.csr"
        let database = "\(directory)/ca-database"
        let expired = "\(directory)/server-expired.crt"
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        try "".write(toFile: "\(database)/index", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: "\(database)/serial", atomically: true, encoding: .utf8)
        try """
        [ca]
        default_ca = throwaway
        [throwaway]
        database = \(database)/index
        serial = \(database)/serial
        new_certs_dir = \(database)
        default_md = sha256
        policy = anything
        copy_extensions = copy
        [anything]
        commonName = supplied

        """.write(toFile: "\(database)/ca.cnf", atomically: true, encoding: .utf8)
        try Self.run([
            "openssl", "req", "-new", "-key", serverKey, "-out", request, "-subj", "/CN=simul-test-server", "-addext",
            "subjectAltName=\(serverNames.joined(separator: ","))",
        ])
        try Self.run([
            "openssl", "ca", "-batch", "-config", "\(database)/ca.cnf", "-cert", authority, "-keyfile",
            "\(directory)/ca.key", "-in", request, "-out", expired, "-startdate", "20200101000000Z", "-enddate",
            "20200102000000Z",
        ])
        return expired
    }

    /// Why the certificates could not be made: one line.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// `openssl req -x509` with a new P-256 key (milliseconds to make, where RSA takes a tenth of a second), for two
    /// days, with `arguments`.
    private static func openssl(_ arguments: [String]) throws {
        try run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "2",
            ] + arguments)
    }

    /// Runs `command`, its output discarded, and waits for it.
    private static func run(_ command: [String]) throws {
        // posix_spawn and a wait for this pid alone: Foundation's Process, started from many threads at once, can
        // miss its child's exit and wait forever.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var arguments = command.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, "openssl", &actions, nil, &arguments, environ)
        guard spawned == 0 else {
            throw Failure(description: "cannot run openssl: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw Failure(description: "\(command.joined(separator: " ")) failed") }
    }
}
