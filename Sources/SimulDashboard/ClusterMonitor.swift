import Foundation
public import Logging
public import ServiceLifecycle
import Simul
import SimulJSON
public import SimulQueue
import Synchronization

/// Follows the broker's event feed and keeps what the dashboard shows: the folded ``ClusterState``, the throughput of
/// the last minutes and the runtime of finished tasks by name.
///
/// It reads ``EventFeed/events(after:limit:)`` from a cursor every `pollInterval`, so it works the same on SQLite (an
/// events table) and Redis (the `celeryev` fanout, where Python Celery workers started with `-E` publish too). Every
/// poll wakes the subscribers of ``updates()``, which the Server-Sent Events endpoint turns into live updates.
public final class ClusterMonitor: Service, Sendable {
    /// What one look at the monitor sees.
    package struct Snapshot: Sendable {
        package var cluster: ClusterState
        package var throughput: ThroughputSeries
        package var runtimes: [String: RuntimeHistogram]
        /// Flower's series, for `/metrics`.
        package var flower = FlowerMetrics()
        /// Grows by one each time an event is folded in.
        package var version: Int
    }

    private struct State {
        var snapshot: Snapshot
        var cursor: Int64 = 0
        var subscribers: [Int: AsyncStream<Int>.Continuation] = [:]
        var nextSubscriber = 0
    }

    private let feed: any EventFeed
    private let pollInterval: Duration
    private let clock: any QueueClock
    private let logger: Logger
    private let state: Mutex<State>

    /// A monitor of `feed`'s events.
    /// - Parameters:
    ///   - feed: where the events come from.
    ///   - pollInterval: how often to ask for new events.
    ///   - taskLimit: how many tasks to remember, the most recent first.
    ///   - clock: the time of events that carry none, and of the pauses between polls.
    ///   - logger: where read errors go.
    public init(
        feed: any EventFeed, pollInterval: Duration = .milliseconds(500), taskLimit: Int = 10_000,
        clock: any QueueClock = .system, logger: Logger = Logger(label: "simul.dashboard")
    ) {
        self.feed = feed
        self.pollInterval = pollInterval
        self.clock = clock
        self.logger = logger
        state = Mutex(
            State(
                snapshot: Snapshot(
                    cluster: ClusterState(taskLimit: taskLimit), throughput: ThroughputSeries(), runtimes: [:],
                    version: 0)))
    }

    /// Polls until cancelled or the service group shuts down.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await poll()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("cannot read the broker's events: \(error)")
            }
            try? await clock.sleep(for: pollInterval)
        }
        finishSubscribers()
    }

    /// Reads every event that arrived since the last poll and folds it in.
    /// - Returns: how many events were read.
    @discardableResult
    public func poll() async throws -> Int {
        var total = 0
        while true {
            let cursor = state.withLock { $0.cursor }
            let (events, next) = try await feed.events(after: cursor, limit: 5_000)
            apply(events, cursor: next)
            total += events.count
            if events.count < 5_000 || next == cursor { break }
        }
        let (version, subscribers) = state.withLock { ($0.snapshot.version, Array($0.subscribers.values)) }
        for subscriber in subscribers { subscriber.yield(version) }
        return total
    }

    /// Folds `events` in, as if read from the broker; `cursor` is where the next read starts.
    package func apply(_ events: [QueueEvent], cursor: Int64? = nil) {
        state.withLock { state in
            if let cursor { state.cursor = cursor }
            for event in events {
                state.snapshot.cluster.apply(event)
                state.snapshot.flower.apply(
                    event, name: event.taskId.flatMap { state.snapshot.cluster.tasks[$0]?.name },
                    at: event.timestamp ?? clock.now)
                state.snapshot.version += 1
                guard event.type == "task-succeeded" || event.type == "task-failed" else { continue }
                let time = event.timestamp ?? clock.now
                state.snapshot.throughput.record(succeeded: event.type == "task-succeeded", at: time)
                if let runtime = event.fields["runtime"]?.doubleValue, runtime >= 0, let id = event.taskId {
                    let name = state.snapshot.cluster.tasks[id]?.name ?? "unknown"
                    state.snapshot.runtimes[name, default: RuntimeHistogram()].observe(runtime)
                }
            }
        }
    }

    /// What the monitor knows now.
    package var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// The version after each poll, for live updates; the stream ends when the monitor stops.
    package func updates() -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            defer { state.nextSubscriber += 1 }
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        continuation.yield(state.withLock { $0.snapshot.version })
        return stream
    }

    private func finishSubscribers() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
