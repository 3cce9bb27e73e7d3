import Foundation
import Simul
import SimulQueue
import SimulSQLite
import Synchronization

/// What the brokers under test are: a result backend and every capability but remote control.
typealias TestBroker = ResultCommitting & RevocationStore & DeadLetterStore & EventFeed & SlotClaiming
    & QueueAdministration

/// A broker (in memory unless told otherwise), a worker running on it, and a client: one queue in a test.
struct QueueHarness {
    let broker: any TestBroker
    let worker: Worker
    let client: QueueClient
    private let running: Task<Void, any Error>

    init(
        catalog: TaskCatalog = QueueHarness.catalog, broker: any TestBroker = MemoryBroker(),
        configure: (inout WorkerConfiguration) -> Void = { _ in }
    ) {
        var configuration = WorkerConfiguration()
        configuration.name = "test@host"
        configuration.concurrency = 4
        configuration.revocationInterval = .milliseconds(20)
        configure(&configuration)
        self.broker = broker
        let worker = Worker(catalog: catalog, broker: broker, backend: broker, configuration: configuration)
        self.worker = worker
        client = QueueClient(broker: broker, backend: broker)
        running = Task { try await worker.run() }
    }

    /// Stops the worker (warm) and waits for it.
    func stop() async throws {
        worker.shutdown()
        try await running.value
    }

    /// Waits for the worker to stop by itself.
    func finished() async throws {
        try await running.value
    }

    /// Waits until `condition` holds, checking every few milliseconds, for at most 20 seconds.
    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw QueueError.timeout("never happened: \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Tasks for the tests.
    static let catalog: TaskCatalog = {
        var catalog = TaskCatalog()
        catalog.register("t.add", parameters: ["x", "y"]) { (x: Int, y: Int) in x + y }
        catalog.register("t.mul", parameters: ["x", "y"]) { (x: Int, y: Int) in x * y }
        catalog.register("t.xsum", parameters: ["numbers"]) { (numbers: [Int]) in numbers.reduce(0, +) }
        catalog.register("t.fail", parameters: ["message"]) { (message: String) throws -> Int in
            throw TaskError.valueError(message)
        }
        catalog.register("t.flaky", parameters: ["n"]) { (n: Int) throws -> Int in
            let context = TaskContext.current!
            guard context.retries >= n else { throw context.retry(countdown: 0) }
            return n
        }
        catalog.register("t.later") { () throws -> Int in throw TaskContext.current!.retry(countdown: 60) }
        catalog.register("t.spin", parameters: ["seconds"]) { (seconds: Double) throws -> String in
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                try TaskContext.current!.checkCancellation()
                usleep(1_000)
            }
            return "finished"
        }
        catalog.register("t.nap", parameters: ["seconds"]) { (seconds: Double) async throws -> String in
            try await Task.sleep(for: .seconds(seconds))
            return "finished"
        }
        catalog.register("t.block", parameters: ["seconds"]) { (seconds: Double) -> String in
            usleep(UInt32(seconds * 1_000_000))
            return "finished"
        }
        catalog.register("t.record", parameters: ["label"], options: TaskOptions(rateLimit: RateLimit("20/s"))) {
            (label: String) in
            Date().timeIntervalSince1970
        }
        catalog.register("t.soft", parameters: [], options: TaskOptions(softTimeLimit: 0.2)) { () throws -> String in
            while true {
                try TaskContext.current!.checkCancellation()
                usleep(1_000)
            }
        }
        catalog.register("t.hard", parameters: [], options: TaskOptions(hardTimeLimit: 0.2)) {
            () async throws -> String in
            try await Task.sleep(for: .seconds(600))
            return "never"
        }
        catalog.register("t.optional", parameters: ["x", "label"]) { (x: Int, label: String?) in
            "\(label ?? "none"):\(x)"
        }
        catalog.register("t.boom", parameters: ["x"]) { (x: Int) throws -> Int in
            throw TaskError.valueError("boom \(x)")
        }
        catalog.register("t.echo", parameters: ["value"]) { (value: JSONValue) in value }
        catalog.register("t.gated", parameters: ["gate", "value"]) { (gate: String, value: Int) async throws -> Int in
            try await QueueHarness.eventually("gate \(gate) opened") { Gates.shared.isOpen(gate) }
            return value
        }
        return catalog
    }()
}

/// Named gates a task can wait on (`t.gated`) until a test opens them.
final class Gates: Sendable {
    static let shared = Gates()
    private let open = Mutex<Set<String>>([])

    func isOpen(_ gate: String) -> Bool { open.withLock { $0.contains(gate) } }
    func open(_ gate: String) { _ = open.withLock { $0.insert(gate) } }
}

/// The brokers a test can run against.
enum BrokerKind: String, CaseIterable, Sendable {
    case memory
    case sqlite

    /// A new, empty broker; SQLite's file goes in `scratch`.
    func make(in scratch: ScratchDirectory) throws -> any TestBroker {
        switch self {
        case .memory: MemoryBroker()
        case .sqlite: try SQLiteBroker(path: scratch.file("queue.sqlite"))
        }
    }
}

/// A new directory under the temporary directory, for broker files; ``remove()`` deletes it.
struct ScratchDirectory: Sendable {
    let path: String

    init() throws {
        let name = "simul-queue-tests-\(UUID().uuidString)"
        path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` in the directory.
    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
