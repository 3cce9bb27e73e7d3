import Foundation

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

    /// Why the certificates could not be made: one line.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// `openssl req -x509` with a new 2048-bit RSA key, for two days, with `arguments`.
    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run openssl: \(error)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed")
        }
    }
}
