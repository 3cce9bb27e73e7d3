import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulSQLite
import SimulTasks

/// Seed 004's Celery example on the embedded broker: a program hands slow tasks to a queue and carries on, a worker
/// in another process runs them, and then a chain runs (`add(1, 2) | mul(10) | add(5)`).
public struct QueueDemo: Demo {
    public static let name = "queue"

    /// Creates the demo.
    public init() {}

    public func run(in context: DemoContext) async throws -> DemoReport {
        let seconds = context.options.quick ? 0.2 : 1
        let count = 4
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simul-queue-demo-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("queue.sqlite").path
        let broker = try SQLiteBroker(path: path)
        let client = QueueClient(broker: broker, backend: broker)
        var report = DemoReport(demo: Self.name)

        context.say(
            "\(count) slow tasks of \(seconds) s each (simul.sleep), like the seed's tasks.py.",
            "\(count) tarefas demoradas de \(seconds) s cada (simul.sleep), como no tasks.py do seed.")
        context.say("\nwithout a queue: the program waits for each task", "\nsem fila: o programa espera cada tarefa")
        report.runs.append(
            try await context.measure("sequential") { recorder in
                for index in 1...count {
                    _ = try await recorder.time("task \(index)", lane: "main") {
                        try await BuiltinTasks.catalog.call("simul.sleep", args: [.number(seconds)])
                    }
                    context.say("  task \(index) done", "  tarefa \(index) concluída")
                }
            }.run)

        context.say(
            "\nwith the queue: a worker process (simul worker -c \(count)) on the SQLite file \(path)",
            "\ncom a fila: um processo worker (simul worker -c \(count)) no arquivo SQLite \(path)")
        let worker = try startWorker(path: path, concurrency: count, context: context)
        defer { worker.terminate() }
        _ = try await client.send("simul.noop").get(timeout: .seconds(30))  // the worker is up before the clock starts
        var handedOver = 0.0
        // The worker's side is another process: each task is drawn from when the program sent it to when the
        // program had its result.
        let queued = try await context.measure("queue", results: { (values: [JSONValue]) in .array(values) }) {
            recorder in
            let start = ContinuousClock.now
            var results: [(AsyncResult, ContinuousClock.Instant)] = []
            for _ in 1...count {
                let sent = ContinuousClock.now
                results.append((try await client.send("simul.sleep", args: [.number(seconds)]), sent))
            }
            handedOver = (ContinuousClock.now - start).seconds
            context.say(
                "  \(count) tasks sent in \(Self.milliseconds(handedOver)); the program carries on while the worker runs them",
                "  \(count) tarefas enviadas em \(Self.milliseconds(handedOver)); o programa segue enquanto o worker as executa"
            )
            var values: [JSONValue] = []
            for (index, (result, sent)) in results.enumerated() {
                values.append(try await result.get(timeout: .seconds(60)))
                recorder.record("task \(index + 1)", lane: "task \(index + 1)", from: sent)
                context.say(
                    "  task \(index + 1) done (id \(result.id))", "  tarefa \(index + 1) concluída (id \(result.id))")
            }
            return values
        }
        report.runs.append(queued.run)

        context.say("\nchain: add(1, 2) | mul(10) | add(5)", "\nchain (cadeia): add(1, 2) | mul(10) | add(5)")
        let chained = try await context.measure("chain", results: { (value: JSONValue) in value }) { recorder in
            try await recorder.time("add(1, 2) | mul(10) | add(5)", lane: "main") {
                try await client.chain([
                    Signature("simul.add", args: [1, 2]), Signature("simul.mul", args: [10]),
                    Signature("simul.add", args: [5]),
                ]).get(timeout: .seconds(60))
            }
        }
        context.say(
            "  ((1 + 2) × 10) + 5 = \(chained.value.jsonText)", "  ((1 + 2) × 10) + 5 = \(chained.value.jsonText)")
        report.runs.append(chained.run)

        worker.terminate()
        worker.waitUntilExit()
        await broker.close()
        report.summary = [
            "handed_over_s": .number(handedOver), "chain_result": chained.value,
            "speedup": .number((report.run("sequential")?.wall_s ?? 0) / max(queued.run.wall_s, 1e-9)),
        ]
        context.say(
            "\nThe program handed \(count) tasks over in \(Self.milliseconds(handedOver)) instead of waiting \(Double(count) * seconds) s.",
            "\nO programa entregou \(count) tarefas em \(Self.milliseconds(handedOver)) em vez de esperar \(Double(count) * seconds) s."
        )
        return report
    }

    private func startWorker(path: String, concurrency: Int, context: DemoContext) throws -> Process {
        let process = Process()
        let executable =
            context.options.processPool.workerExecutable
            ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["worker", "--broker", "sqlite://\(path)", "-c", "\(concurrency)", "-n", "demo@%h"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func milliseconds(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
}
