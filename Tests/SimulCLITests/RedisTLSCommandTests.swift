import Foundation
import Simul
import SimulProcessSupport
import SimulTestSupport
import Testing

/// `simul` against a Redis that speaks only TLS and asks for client certificates, as a user runs it: the worker with
/// the options in its URL, the client with the `--broker-ssl-*` options on a `redis://` URL.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RedisTLSCommandTests {
    @Test func theBrokerSSLOptionsReachATLSRedis() async throws {
        let server = try await RedisServer.start(tls: true)
        let tls = try #require(server.tls)
        let worker = try startSimul(["worker", "--broker", server.url(), "-c", "2"])
        defer { if worker.isRunning { worker.interrupt() } }
        let plain = "redis://localhost:\(server.port)/0"

        let sum = try await QueueCommandTests.simul([
            "send", "simul.add", "--args", "[2, 3]", "--broker", plain, "--broker-ssl-ca-certs", tls.authority,
            "--broker-ssl-certfile", tls.clientCertificate, "--broker-ssl-keyfile", tls.clientKey, "--wait",
            "--timeout", "60",
        ])
        #expect(sum.status == 0, "\(sum.error)")
        #expect(sum.output.split(separator: "\n").last == "5")

        // Without its certificate the client is refused by the server, in one line.
        let refused = try await QueueCommandTests.simul([
            "send", "simul.add", "--args", "[2, 3]", "--broker", plain, "--broker-ssl-ca-certs", tls.authority,
        ])
        #expect(refused.status == 1)
        #expect(
            refused.error.hasPrefix("Error: cannot connect to redis at localhost:\(server.port)"), "\(refused.error)")
        #expect(refused.error.split(separator: "\n").count == 1, "\(refused.error)")

        worker.terminate()
        await worker.exited()
        #expect(worker.terminationStatus == 0)

        // A server whose certificate has expired: one line that says when.
        try server.cli(["CONFIG", "SET", "tls-cert-file", try tls.makeExpiredServerCertificate()])
        let expired = try await QueueCommandTests.simul(["send", "simul.add", "--broker", server.url()])
        #expect(expired.status == 1)
        #expect(
            expired.error
                == "Error: cannot connect to redis at 127.0.0.1:\(server.port): TLS handshake failed: "
                + "the server's certificate expired on 2020-01-02 00:00 UTC\n")
    }

    @Test func theBrokerSSLOptionsNeedARedisBroker() async throws {
        let run = try await QueueCommandTests.simul([
            "send", "simul.add", "--broker", BadInputTests.broker, "--broker-ssl-ca-certs", "/ca.pem",
        ])
        #expect(run.status == 1)
        #expect(
            run.error
                == "Error: --broker-ssl-* options are for a redis:// or rediss:// broker, not 'sqlite://' "
                + "(TLS through sentinels is not supported yet)\n")
    }
}
