// The Swift client of interop/scenarios.py's typed-tasks scenario: SimulInteropClient BROKER_URL BACKEND_URL.
// Sends `simul.divmod` (a typed Swift task) to the Swift worker and `pytasks.fail` (declared here as a typed task,
// run by Python Celery) to the Python worker, and prints what each typed `get` gave, one line each:
//   divmod quotient=3 remainder=2
//   fail ValueError: boom (module builtins, traceback of N lines)
import Foundation
import SimulBrokers
import SimulQueue
import SimulTasks

/// Python's `pytasks.fail(message)`, which raises `ValueError(message)`.
struct PythonFail: TaskDefinition {
    static let name = "pytasks.fail"
    struct Arguments: Codable, Sendable { var message: String }
    typealias Output = String
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let broker = arguments.first, let backend = arguments.last else {
    FileHandle.standardError.write(Data("usage: SimulInteropClient BROKER_URL BACKEND_URL\n".utf8))
    exit(2)
}
let queue = try QueueConnection(broker: broker, backend: backend)
let client = QueueClient(broker: queue.broker, backend: queue.backend)

let quotient = try await client.send(Divmod.self, .init(dividend: 17, divisor: 5), options: .init(queue: "simul"))
let output: Divmod.Output = try await quotient.get(timeout: .seconds(20))
print("divmod quotient=\(output.quotient) remainder=\(output.remainder)")

let failing = try await client.send(PythonFail.self, .init(message: "boom"), options: .init(queue: "celery"))
do {
    let value: String = try await failing.get(timeout: .seconds(20))
    print("fail returned \(value)")
} catch let error as TaskError {
    let lines = error.traceback?.split(separator: "\n").count ?? 0
    print("fail \(error.type): \(error.message) (module \(error.module), traceback of \(lines) lines)")
}
await queue.close()
