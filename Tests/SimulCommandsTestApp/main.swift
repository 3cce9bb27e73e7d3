// A team's own executable, as docs/commands.md has it: its own tasks and Simul's queue commands, in a few lines.
// `QueueCommandsTests` runs it as `shop`.
import Foundation
import SimulCommands
import SimulQueue

var tasks = TaskCatalog()
tasks.register("shop.double", parameters: ["n"]) { (n: Int) in n * 2 }
tasks.register("shop.pid") { () -> Int32 in getpid() }
await QueueCommands.main(name: "shop", version: "1.2.3", tasks: tasks)
