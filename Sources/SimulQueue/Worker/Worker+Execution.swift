import Foundation
import Simul
import SimulJSON
import Logging
import Synchronization

extension Worker {
    /// What running one message came to.
    enum Outcome {
        case success(JSONValue)
        case failure(TaskError)
        case retry(RetryRequest)
        case revoked(String)
        /// Stopped by a cold shutdown: no result; the message goes back to the queue.
        case interrupted
    }

    /// Runs ready jobs, one at a time, until the worker stops.
    func slotLoop() async {
        while true {
            let now = clock.now
            let next = state.withLock { state -> WorkerStateMachine.Next in
                let next = state.machine.next(at: now)
                if case .run(let job, _) = next {
                    state.running[job.tag] = Running(
                        context: TaskContext(
                            id: job.message.id, name: job.message.task, retries: job.message.retries,
                            hostname: configuration.name, client: client,
                            stateWriter: stateWriter(job)),
                        message: job.message, started: now)
                }
                return next
            }
            switch next {
            case .run(let job, let revoked):
                if !revoked, let start = laterTurn(for: job, at: now) {
                    // Its rate limit's turn is later: it waits as an ETA does, and the slot takes the next job.
                    state.withLock { state in
                        state.running[job.tag] = nil
                        state.waitedTurns.insert(job.tag)
                        state.machine.postpone(job.tag, until: start)
                    }
                    scheduleChanged.signal()
                    continue
                }
                let metadata = TaskLogMetadata(
                    taskId: job.message.id, taskName: job.message.task, queue: job.delivery.queue,
                    worker: configuration.name, retries: job.message.retries)
                await TaskLogMetadata.$current.withValue(metadata) {
                    await traced(job) { await process(job, revoked: revoked) }
                }
            case .wait: guard (try? await readyPermits.acquire()) != nil else { return }
            case .stop: return
            case .retire:
                // The permit that woke this slot may stand for a ready job: pass it on.
                readyPermits.release()
                return
            }
        }
    }

    /// The time `job` may start, if its task's rate limit makes that later than `now`; `nil` to start now. A job
    /// that waited for its turn already starts now.
    private func laterTurn(for job: Job, at now: Date) -> Date? {
        guard let task = catalog[job.message.task], let rate = rateLimit(of: task) else { return nil }
        if state.withLock({ $0.waitedTurns.remove(job.tag) }) != nil { return nil }
        let start = limiter.turn(task.name, rate: rate, at: now)
        return start > now ? start : nil
    }

    /// What ``TaskContext/updateState(_:meta:)`` does in `job`: stores the state in the next batch, as Celery's
    /// `update_state` stores it, with a `task-<state>` event.
    private func stateWriter(_ job: Job) -> @Sendable (TaskState, JSONValue) -> Void {
        let message = job.message
        let queue = job.delivery.queue
        return { [self] state, meta in
            var result = TaskResult(taskId: message.id, status: state, result: meta)
            result.groupId = message.groupId
            result.parentId = message.parentId
            result.name = message.task
            result.worker = configuration.name
            result.retries = message.retries
            result.queue = queue
            let fields = meta.objectValue ?? ["meta": meta]
            committer.enqueue(
                results: [result], events: taskEvent("task-\(state.rawValue.lowercased())", message, fields))
        }
    }

    /// Runs `job` and stores its outcome; returns the outcome stored, or `nil` when the job was put back.
    private func process(_ job: Job, revoked: Bool) async -> Outcome? {
        let message = job.message
        guard let context = state.withLock({ $0.running[job.tag]?.context }) else { return nil }
        let started = clock.now
        let outcome: Outcome
        var sends: [TaskMessage] = []
        let task = catalog[message.task]
        if revoked {
            outcome = .revoked("revoked")
        } else if let expires = message.expires, expires <= started {
            outcome = .revoked("expired")
        } else if let task {
            let startedState = configuration.trackStarted ? [TaskResult(taskId: message.id, status: .started)] : []
            committer.enqueue(results: startedState, events: taskEvent("task-started", message))
            recordStarted(message, queue: job.delivery.queue, at: started)
            outcome = await execute(task, message, context, tag: job.tag)
        } else if Self.builtinTasks.contains(message.task) {
            committer.enqueue(events: taskEvent("task-started", message))
            let (builtinOutcome, builtinSends) = await runBuiltin(message, context)
            outcome = builtinOutcome
            sends = builtinSends
        } else {
            logger.warning("received unregistered task '\(message.task)' [\(message.id)]")
            outcome = .failure(.notRegistered(message.task))
        }
        if case .interrupted = outcome {
            // Left held and unacknowledged: the shutdown puts it back in the queue.
            state.withLock { state in
                state.running[job.tag] = nil
                state.machine.interrupt(job.tag)
            }
            changed.signal()
            return nil
        }
        let stored = await finish(job, outcome, task: task, runtime: clock.now.timeIntervalSince(started), sends: sends)
        state.withLock { state in
            state.running[job.tag] = nil
            if case .failure = outcome {
                state.machine.finish(job.tag, failed: true)
            } else {
                state.machine.finish(job.tag, failed: false)
            }
        }
        changed.signal()
        return stored
    }

    /// Runs the task in the pool, enforcing its soft and hard time limits, and stopping it if it is revoked.
    private func execute(_ task: RegisteredTask, _ message: TaskMessage, _ context: TaskContext, tag: String) async
        -> Outcome
    {
        // A message's limits were range-checked when it was decoded; a task's own are clamped the same way.
        let limits = timeLimits(of: task)
        let soft = (message.softTimeLimit ?? limits.soft).map { min($0, Seconds.limit) }
        let hard = (message.hardTimeLimit ?? limits.hard).map { min($0, Seconds.limit) }
        let run: @Sendable () async -> Outcome = {
            do {
                return .success(try await self.executor.run(task, message, context))
            } catch let retry as RetryRequest {
                return .retry(retry)
            } catch {
                return Self.classify(error, context: context)
            }
        }
        // A thread cannot be interrupted: with no time limit to enforce, run it right here, with no task to race.
        if soft == nil, hard == nil, !task.isAsync, configuration.pool == .threads || configuration.pool == .solo {
            return await run()
        }
        let race = OutcomeRace()
        let work = Task { race.finish(await run()) }
        state.withLock { $0.running[tag]?.work = work }
        var timers: [Task<Void, Never>] = []
        if let soft {
            timers.append(
                Task {
                    guard (try? await self.clock.sleep(for: .seconds(soft))) != nil else { return }
                    context.stop(.softTimeLimitExceeded)
                    if task.isAsync || configuration.pool == .async { work.cancel() }
                })
        }
        if let hard {
            timers.append(
                Task {
                    guard (try? await self.clock.sleep(for: .seconds(hard))) != nil else { return }
                    context.stop(.timeLimitExceeded(hard))
                    // The processes pool kills the worker process; a thread cannot be killed, so its task is abandoned.
                    work.cancel()
                    race.finish(.failure(.timeLimitExceeded(hard)))
                })
        }
        let outcome = await race.value
        for timer in timers { timer.cancel() }
        if case .failure(let error) = outcome, error.type == "TimeLimitExceeded", configuration.pool != .processes {
            logger.warning("task \(task.name)[\(message.id)] passed its hard time limit; its thread is abandoned")
        }
        return outcome
    }

    /// The task's rate limit: the one remote control set, else its own.
    func rateLimit(of task: RegisteredTask) -> RateLimit? {
        limitOverrides.withLock { $0.rates[task.name] } ?? task.options.rateLimit
    }

    /// The task's soft and hard time limits: the ones remote control set, else its own.
    func timeLimits(of task: RegisteredTask) -> (soft: Double?, hard: Double?) {
        limitOverrides.withLock { $0.timeLimits[task.name] }
            ?? (task.options.softTimeLimit, task.options.hardTimeLimit)
    }

    /// Turns a thrown error into an outcome, using the reason the task was stopped when it was stopped.
    static func classify(_ error: any Error, context: TaskContext) -> Outcome {
        var stopReason: TaskError?
        do { try context.checkCancellation() } catch { stopReason = error as? TaskError }
        if let stopReason, stopReason.type == "TaskRevokedError" { return .revoked(stopReason.message) }
        if error is CancellationError {
            return stopReason.map(Outcome.failure) ?? .interrupted
        }
        if let error = error as? ProcessPoolError { return .failure(TaskError(processError: error)) }
        return .failure(.from(error))
    }
}

/// The first outcome wins: the task's own, or the hard time limit's.
final class OutcomeRace: Sendable {
    private let state = Mutex<(outcome: Worker.Outcome?, waiter: CheckedContinuation<Worker.Outcome, Never>?)>(
        (nil, nil))

    func finish(_ outcome: Worker.Outcome) {
        let waiter = state.withLock { state -> CheckedContinuation<Worker.Outcome, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: outcome)
    }

    var value: Worker.Outcome {
        get async {
            await withCheckedContinuation { continuation in
                let outcome = state.withLock { state -> Worker.Outcome? in
                    if state.outcome == nil { state.waiter = continuation }
                    return state.outcome
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        }
    }
}

extension TaskError {
    /// A process pool failure as Celery names it: a crash is `WorkerLostError`.
    init(processError error: ProcessPoolError) {
        if let remote = error.remoteType {
            self.init(type: remote, message: error.message, module: "swift")
        } else if error.signal != nil || error.exitCode != nil {
            self.init(type: "WorkerLostError", message: error.message, module: "billiard.exceptions")
        } else {
            self.init(type: "ProcessPoolError", message: error.message, module: "simul")
        }
    }
}
