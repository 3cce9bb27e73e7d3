import Foundation
import Simul
import SimulBrokers
import SimulJSON
import SimulQueue
import Testing

/// The one factory from URLs to a broker and a backend.
@Suite struct QueueConnectionTests {
    static func sqliteURL() -> String {
        "sqlite://"
            + FileManager.default.temporaryDirectory.appendingPathComponent("simul-conn-\(UUID())/q.sqlite").path
    }

    @Test(arguments: ["memory://", sqliteURL()])
    func oneStoreServesBothWhenTheBackendIsTheBroker(url: String) async throws {
        let queue = try QueueConnection(broker: url)
        #expect(queue.broker === queue.backend)
        let client = QueueClient(broker: queue.broker, backend: queue.backend)
        let sent = try await client.send("t.add", args: [1, 2])
        #expect(try await queue.broker.require(.queueAdministration).queueLengths()["celery"] == 1)
        #expect(try await sent.state() == .pending)
        await queue.close()
    }

    @Test func aSeparateBackendIsItsOwnStore() async throws {
        let queue = try QueueConnection(broker: Self.sqliteURL(), backend: Self.sqliteURL())
        #expect(queue.broker !== queue.backend)
        try await queue.backend.store([TaskResult(taskId: "a", status: .success, result: 1)])
        #expect(try await queue.backend.results(for: ["a"])["a"]?.result == 1)
        await queue.close()
    }

    @Test(
        arguments: [
            (
                "foo://x", nil,
                "bad broker URL 'foo://x': unknown scheme 'foo' (use sqlite, redis, rediss, sentinel or memory)"
            ),
            (
                "sqlite://", nil,
                "bad broker URL 'sqlite://': sqlite:// needs a file path, such as sqlite://.simul/queue.sqlite"
            ),
            ("redis://127.0.0.1:99999", nil, "bad broker URL 'redis://127.0.0.1:99999': "),
            (
                "rediss://app:hunter2@127.0.0.1:0/0?ssl_cert_reqs=required", nil,
                "bad broker URL 'rediss://app:***@127.0.0.1:0/0?ssl_cert_reqs=required': invalid redis URL: port '0'"
            ),
            (
                "rediss://127.0.0.1/0?ssl_cert_reqs=maybe", nil,
                "bad broker URL 'rediss://127.0.0.1/0?ssl_cert_reqs=maybe': invalid redis URL: ssl_cert_reqs must be"
            ),
            (
                sqliteURL(), "memory://",
                "bad broker URL 'memory://': memory:// can be a backend only for a memory:// broker"
            ),
        ] as [(String, String?, String)])
    func badURLsAreRefusedWithTheReason(broker: String, backend: String?, message: String) {
        do {
            _ = try QueueConnection(broker: broker, backend: backend)
            Issue.record("opened \(broker) \(backend ?? "")")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
    }

    @Test func aResultExpiryOutOfRangeIsRefused() {
        #expect(throws: SecondsError.self) {
            _ = try QueueConnection(broker: "memory://", options: .init(resultExpiry: 1e300))
        }
    }
}
