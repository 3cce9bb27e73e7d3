import Foundation
import SimulJSON
public import SimulQueue
import SimulTestSupport
import Synchronization

/// What the brokers under test are: a result backend and every capability but remote control.
public typealias TestBroker = ResultCommitting & RevocationStore & DeadLetterStore & EventFeed & SlotClaiming
    & QueueAdministration

/// A broker (in memory unless told otherwise), a worker running on it, and a client: one queue in a test.
public struct QueueHarness {
    public let broker: any TestBroker
    public let worker: Worker
    public let client: QueueClient
    private let running: Task<Void, any Error>

    /// A worker and a client on `broker`, all on `clock`; the broker is a memory one on `clock` when not given.
    public init(
        catalog: TaskCatalog = QueueHarness.catalog, broker: (any TestBroker)? = nil, clock: any QueueClock = .system,
        configure: (inout WorkerConfiguration) -> Void = { _ in }
    ) {
        var configuration = WorkerConfiguration()
        configuration.name = "test@host"
        configuration.concurrency = 4
        configuration.revocationInterval = .milliseconds(20)
        configure(&configuration)
        let broker = broker ?? MemoryBroker(clock: clock)
        self.broker = broker
        let worker = Worker(
            catalog: catalog, broker: broker, backend: broker, configuration: configuration, clock: clock)
        self.worker = worker
        client = QueueClient(broker: broker, backend: broker, clock: clock)
        running = Task { try await worker.run() }
    }

    /// Stops the worker (warm) and waits for it.
    public func stop() async throws {
        worker.shutdown()
        try await running.value
    }

    /// Waits for the worker to stop by itself.
    public func finished() async throws {
        try await running.value
    }

    /// Tasks for the tests.
    public static let catalog: TaskCatalog = {
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
        // The sleeps below are the tasks' own work: a busy, a napping and a blocked task, as the pools must run them.
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
            try await waitUntil("gate \(gate) opened") { Gates.shared.isOpen(gate) }
            return value
        }
        return catalog
    }()
}

/// Named gates a task can wait on (`t.gated`) until a test opens them.
public final class Gates: Sendable {
    public static let shared = Gates()
    private let open = Mutex<Set<String>>([])

    public func isOpen(_ gate: String) -> Bool { open.withLock { $0.contains(gate) } }
    public func open(_ gate: String) { _ = open.withLock { $0.insert(gate) } }
}
