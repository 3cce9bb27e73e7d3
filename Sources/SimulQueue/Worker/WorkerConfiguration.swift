import Foundation
public import Simul

/// How a ``Worker`` runs: its name, queues, pool, concurrency, prefetch, leases and timeouts.
public struct WorkerConfiguration: Sendable {
    /// Where tasks run.
    public enum Pool: String, Sendable, CaseIterable {
        /// One task at a time, on one thread.
        case solo
        /// `concurrency` OS threads: blocking tasks run side by side.
        case threads
        /// `concurrency` worker processes: crash isolation, hard time limits, no shared memory.
        case processes
        /// Tasks run on Swift's cooperative pool, `concurrency` at a time; sync tasks there must not block long.
        case async
    }

    /// The node name, `name@host`, shown in events and `simul inspect`.
    public var name: String = "simul@\(ProcessInfo.processInfo.hostName)"
    /// The queues to take tasks from.
    public var queues: [String] = ["celery"]
    /// Where tasks run.
    public var pool: Pool = .threads
    /// Tasks run at once.
    public var concurrency: Int = SystemInfo.availableCPUs
    /// The most tasks at once that remote control's `pool_grow` may reach. When `nil`: four times ``concurrency``
    /// for the threads and async pools (threads start only when used, so room costs little), and ``concurrency``
    /// itself for the processes pool, which then cannot grow: a process pool with room to spare may start a new
    /// process when a task is submitted just before a finishing process is idle again.
    public var maxConcurrency: Int?
    /// Messages held per unit of concurrency, running or waiting (Celery's `worker_prefetch_multiplier`).
    public var prefetchMultiplier: Int = 4
    /// How long a received message stays leased; the worker renews leases at a third of this.
    public var lease: Duration = .seconds(30)
    /// On SIGTERM, how long running tasks get to finish before they are put back.
    public var shutdownTimeout: Duration = .seconds(30)
    /// How often the worker says it is alive.
    public var heartbeatInterval: Duration = .seconds(2)
    /// How often the worker samples its gauges (tasks running and prefetched, queue depths) when a metrics backend
    /// is bootstrapped.
    public var metricsInterval: Duration = .seconds(5)
    /// How often the worker reads new revocations from the broker.
    public var revocationInterval: Duration = .milliseconds(250)
    /// How many revocations the worker keeps, and for how long: Celery's 50,000 for three hours by default. Keep
    /// it the broker's.
    public var revocationLimits: RevokedSet.Limits = .celery
    /// The queue each task name goes to when a chain, callback or retry sends it; else its registered queue, else
    /// the queue of the message that sends it.
    public var routes = TaskRoutes()
    /// Send task events (received, started, succeeded, …) for monitors such as the dashboard and Flower; worker
    /// heartbeats are always sent.
    public var taskEvents: Bool = true
    /// Celery's mingle: at start, ask the running workers for the revocations they hold (`hello`) and wait at most a
    /// second for their answers, so a task revoked only in a Python worker's memory is not run here. For brokers
    /// with remote control; `simul worker --without-mingle` turns it off.
    public var mingle: Bool = true
    /// Let remote control's `pool_restart` replace the `processes` pool's worker processes once their running tasks
    /// are done (Celery's `worker_pool_restarts`, off by default as there). Off, the command answers Celery's
    /// `ValueError('Pool restarts not enabled')`; `simul worker --pool-restarts` turns it on.
    public var poolRestarts: Bool = false
    /// Store RECEIVED and STARTED states as well as outcomes (Celery's `task_track_started`); one more write each.
    public var trackStarted: Bool = false
    /// The largest message the worker takes, in bytes. A larger one is not decoded: it goes to the dead letters, and
    /// a FAILURE is stored if it names a task id. Task arguments belong in messages; big data belongs elsewhere.
    public var maxMessageSize: Int = 1 << 20
    /// A message whose lease has run out this many times (each time, the worker that took it stopped before finishing
    /// it: killed, crashed, frozen) is not run again: it goes to the dead letters, "redelivered N times", with a
    /// FAILURE `WorkerLostError`, so a task that kills its worker cannot crash-loop a cluster. `nil`: no limit.
    public var maxLapsedLeases: Int? = 5
    /// The process pool's settings, for the `processes` pool.
    public var processPool: ProcessPoolConfiguration = .init()

    /// A configuration with the defaults.
    public init() {}

    /// The most slots the pool has room for: ``maxConcurrency``, and never less than ``concurrency``.
    public var poolCapacity: Int {
        switch pool {
        case .solo: 1
        case .processes: max(concurrency, maxConcurrency ?? concurrency)
        case .threads, .async: max(concurrency, maxConcurrency ?? 4 * concurrency)
        }
    }

    /// The most messages held at once.
    public var prefetch: Int { max(1, concurrency) * max(1, prefetchMultiplier) }
}
