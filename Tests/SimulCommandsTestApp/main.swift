// A team's own executable, as docs/commands.md has it: its own tasks and Simul's queue commands, in a few lines.
// `QueueCommandsTests` runs it as `shop`.
import Foundation
import SimulCommands
import SimulQueue

struct Double: BlockingQueueTask {
    static let name = "shop.double"
    struct Arguments: Codable, Sendable { var n: Int }
    func run(_ arguments: Arguments) -> Int { arguments.n * 2 }
}

var tasks = TaskCatalog()
tasks.register(Double())
tasks.register("shop.pid") { () -> Int32 in getpid() }
await QueueCommands.main(name: "shop", version: "1.2.3", tasks: tasks)
