import Foundation
import NIOCore
import Simul
import SimulProcessSupport
import SimulRedis
import SimulRedisTestSupport
import Testing
import SimulRESP

/// The client over TLS, against a real `redis-server` that speaks only TLS, with certificates made by `openssl` for
/// each test and a client certificate required.
@Suite(.timeLimit(.minutes(3)))
struct RedisTLSTests {
    /// With the authority and a client certificate, commands and pipelines work as over plain TCP.
    @Test func aClientWithTheAuthorityAndACertificateTalksToTheServer() async throws {
        let server = try await RedisServer.start(tls: true)
        let connection = try await RedisConnection.connect(to: RedisConfiguration(url: server.url(database: 2)))
        #expect(try await connection.send("SET", "greeting", "hello") == .simpleString(ByteBuffer(string: "OK")))
        #expect(try await connection.send("GET", "greeting").string == "hello")
        #expect(try await connection.pipeline([["INCR", "n"], ["INCR", "n"]]) == [.integer(1), .integer(2)])
        await connection.close()
    }

    /// A pool and a subscriber, the broker's other two ways in, connect over TLS too.
    @Test func poolsAndSubscribersUseTLS() async throws {
        let server = try await RedisServer.start(tls: true)
        let configuration = try RedisConfiguration(url: server.url())
        let pool = RedisConnectionPool(configuration: configuration, size: 2)
        let subscriber = try await RedisSubscriber.connect(to: configuration)
        var messages = subscriber.messages.makeAsyncIterator()
        try await subscriber.subscribe(to: ["news"])
        #expect(try await pool.send("PUBLISH", "news", "tls") == .integer(1))
        #expect(await messages.next()?.payload == ByteBuffer(string: "tls"))
        await subscriber.close()
        await pool.close()
    }

    /// Each way a TLS connection can be refused is one clear error that names the server, never a hang.
    @Test func aServerThatCannotBeTrustedIsRefusedWithTheReason() async throws {
        let server = try await RedisServer.start(tls: true)
        let tls = try #require(server.tls)
        let stranger = try ThrowawayCertificates.make(in: server.directory + "/stranger")
        let endpoint = "127.0.0.1:\(server.port)"
        let cases: [(what: String, url: String)] = [
            (
                "another authority",
                "rediss://\(endpoint)?ssl_ca_certs=\(stranger.authority)&ssl_certfile=\(tls.clientCertificate)&ssl_keyfile=\(tls.clientKey)"
            ),
            (
                "the system's authorities",
                "rediss://\(endpoint)?ssl_certfile=\(tls.clientCertificate)&ssl_keyfile=\(tls.clientKey)"
            ),
            ("no client certificate", "rediss://\(endpoint)?ssl_ca_certs=\(tls.authority)"),
            (
                "a client certificate of another authority",
                "rediss://\(endpoint)?ssl_ca_certs=\(tls.authority)&ssl_certfile=\(stranger.clientCertificate)&ssl_keyfile=\(stranger.clientKey)"
            ),
            ("plain TCP", "redis://\(endpoint)"),
        ]
        for (what, url) in cases {
            var configuration = try RedisConfiguration(url: url)
            configuration.commandTimeout = .seconds(10)
            let error = await #expect(throws: RedisError.self, "\(what)") {
                try await RedisConnection.connect(to: configuration)
            }
            #expect(
                error?.message.hasPrefix("cannot connect to redis at \(endpoint)") == true,
                "\(what): \(error?.message ?? "")")
            if what == "another authority" {
                #expect(
                    error?.message.hasSuffix(
                        "TLS handshake failed: the server's certificate is not signed by an authority in ssl_ca_certs '\(stranger.authority)'"
                    ) == true, "\(error?.message ?? "")")
            }
            if what.hasSuffix("authorities") {
                #expect(
                    error?.message.hasSuffix(
                        "TLS handshake failed: the server's certificate is not signed by an authority this system trusts (set ssl_ca_certs)"
                    ) == true, "\(error?.message ?? "")")
            }
        }
    }

    /// A certificate for another name is refused unless the name check is off (`ssl_check_hostname=false`); with
    /// `ssl_cert_reqs=none` nothing is checked.
    @Test func theServersNameIsCheckedUnlessTurnedOff() async throws {
        let server = try await RedisServer.start(tls: true, serverNames: ["DNS:elsewhere.example"])
        let tls = try #require(server.tls)
        let client = "ssl_certfile=\(tls.clientCertificate)&ssl_keyfile=\(tls.clientKey)"
        let base = "rediss://127.0.0.1:\(server.port)/0?\(client)"
        let error = await #expect(throws: RedisError.self) {
            try await RedisConnection.connect(to: RedisConfiguration(url: "\(base)&ssl_ca_certs=\(tls.authority)"))
        }
        #expect(
            error?.message
                == "cannot connect to redis at 127.0.0.1:\(server.port): TLS handshake failed: the server's certificate is for elsewhere.example, not 127.0.0.1 (connect by one of those names, or set ssl_check_hostname=false)"
        )
        for options in ["ssl_ca_certs=\(tls.authority)&ssl_check_hostname=false", "ssl_cert_reqs=none"] {
            let connection = try await RedisConnection.connect(to: RedisConfiguration(url: "\(base)&\(options)"))
            #expect(try await connection.send("PING") == .simpleString(ByteBuffer(string: "PONG")), "\(options)")
            await connection.close()
        }
    }

    /// An expired certificate is refused, and the error says when it expired.
    @Test func anExpiredCertificateIsRefusedWithItsDate() async throws {
        let server = try await RedisServer.start(tls: true)
        let tls = try #require(server.tls)
        let good = try RedisConfiguration(url: server.url())
        try server.cli(["CONFIG", "SET", "tls-cert-file", try tls.makeExpiredServerCertificate()])
        let error = await #expect(throws: RedisError.self) { try await RedisConnection.connect(to: good) }
        #expect(
            error?.message
                == "cannot connect to redis at 127.0.0.1:\(server.port): TLS handshake failed: the server's certificate expired on 2020-01-02 00:00 UTC"
        )
    }

    /// Files that cannot be used are named before any connection is tried.
    @Test func unusableFilesAreNamed() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("simul-tls-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let certificates = try ThrowawayCertificates.make(in: scratch)
        let notPEM = scratch + "/not.pem"
        try "hello".write(toFile: notPEM, atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            ("ssl_ca_certs=/no/such/ca.pem", "cannot read ssl_ca_certs '/no/such/ca.pem': no such file or directory"),
            ("ssl_ca_certs=\(notPEM)", "cannot read ssl_ca_certs '\(notPEM)': not a PEM certificate"),
            ("ssl_certfile=\(certificates.clientCertificate)", "ssl_certfile needs ssl_keyfile, its private key"),
            (
                "ssl_keyfile=\(certificates.clientKey)",
                "ssl_keyfile needs ssl_certfile, the certificate it is the key of"
            ),
            (
                "ssl_certfile=\(certificates.clientCertificate)&ssl_keyfile=\(notPEM)",
                "cannot read ssl_keyfile '\(notPEM)': not a PEM private key"
            ),
        ]
        for (options, reason) in cases {
            await #expect(throws: RedisError.invalidTLS(reason), "\(options)") {
                try await RedisConnection.connect(to: RedisConfiguration(url: "rediss://127.0.0.1:1/0?\(options)"))
            }
        }
    }
}
