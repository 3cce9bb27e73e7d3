// The app's own command line: Simul's queue commands (worker, send, result, inspect, …) with this app's tasks, and
// `serve`, which runs the HTTP API and the workers in one process.
import SimulCommands
import SimulQueue

await QueueCommands.main(
    name: "thumbnails", abstract: "Makes thumbnails of PGM images on a Simul queue.", version: "1.0.0",
    tasks: .thumbnails(folder: Folder()), commands: [Serve.self])
