import DequeModule
import Foundation
import Synchronization

/// A pool of real OS threads for blocking work: Python's `ThreadPoolExecutor`.
///
/// Swift's cooperative pool is only as wide as the core count, so a blocking call there stalls other tasks.
/// `ThreadPool` runs such calls on threads of its own. It is also a `TaskExecutor`, so async code can ask for it:
///
/// ```swift
/// let pool = ThreadPool(maxWorkers: 8)
/// let page = try await pool.run { try blockingRead(path) }          // async
/// let future = pool.submit { blockingCompute() }                     // Python style
/// for try await size in pool.map(paths, { try fileSize($0) }) { print(size) }
/// let value = await Task(executorPreference: pool) { blockingCall() }.value  // as an executor
/// await pool.shutdown()
/// ```
///
/// Threads start lazily, one per submission while none is idle, up to `maxWorkers`. Releasing the last reference
/// shuts the pool down without cancelling queued work; keep the pool alive while tasks prefer it as their executor.
public final class ThreadPool: TaskExecutor, Sendable {
    /// Python's default: `min(32, cpus + 4)`, with the CPU count from ``SystemInfo/availableCPUs``.
    public static var defaultMaxWorkers: Int { min(32, SystemInfo.availableCPUs + 4) }

    @usableFromInline let core: Core

    /// The most threads this pool runs at once.
    public var maxWorkers: Int { core.maxWorkers }

    /// Creates a pool; no thread starts until work arrives.
    /// - Parameters:
    ///   - maxWorkers: the most threads at once; at least 1.
    ///   - namePrefix: thread names are `namePrefix-N`.
    ///   - initializer: runs once at the start of every thread. If it throws, the pool is broken: queued and later
    ///     submissions fail with ``ThreadPoolError/broken(_:)``, as Python's `BrokenThreadPool`.
    public init(
        maxWorkers: Int = ThreadPool.defaultMaxWorkers,
        namePrefix: String = "simul-pool",
        initializer: (@Sendable () throws -> Void)? = nil
    ) {
        precondition(maxWorkers >= 1, "a ThreadPool needs at least one worker")
        core = Core(maxWorkers: maxWorkers, namePrefix: namePrefix, initializer: initializer)
    }

    deinit { core.shutdown(cancelPending: false) }

    /// Runs `work` on a pool thread and returns its future.
    ///
    /// After shutdown, or once the pool is broken, the future comes back already failed with a
    /// ``ThreadPoolError``.
    @inlinable  // specialised in the caller: no generic metadata lookups per submit
    public func submit<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) -> Future<Value> {
        let future = Future<Value>()
        core.push(
            .work { disposition in
                switch disposition {
                case .run:
                    guard future.markRunning() else { return }
                    future.complete(with: Result(catching: work))
                case .cancel: future.cancel()
                case .fail(let error): future.complete(with: .failure(error))
                }
            }
        )
        return future
    }

    /// Runs `work` on a pool thread and awaits its value.
    ///
    /// Cancelling the calling task removes the work if it has not started; started work runs to the end, since a
    /// thread cannot be interrupted, and `run` then throws `CancellationError`.
    public func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        let future = submit(work)
        return try await withTaskCancellationHandler {
            try await future.value
        } onCancel: {
            future.cancel()
        }
    }

    /// Applies `transform` to every element on the pool and yields the results in input order.
    ///
    /// Unlike Python's eager `Executor.map`, it is lazy: at most `maxInFlight` elements are submitted ahead of the
    /// consumer (Python 3.14's `buffersize`). An error ends the iteration and cancels what was not started yet, and
    /// so does leaving the loop early.
    /// - Parameters:
    ///   - elements: the inputs.
    ///   - maxInFlight: how many elements may be submitted and not yet consumed; defaults to twice `maxWorkers`.
    ///   - transform: the blocking work for one element.
    public func map<Elements: Sequence & Sendable, Value: Sendable>(
        _ elements: Elements,
        maxInFlight: Int? = nil,
        _ transform: @escaping @Sendable (Elements.Element) throws -> Value
    ) -> MapResults<Value> where Elements.Element: Sendable {
        MapResults(maxInFlight: maxInFlight ?? 2 * maxWorkers, ordered: true) {
            var iterator = elements.makeIterator()
            return {
                guard let element = iterator.next() else { return nil }
                return self.submit { [try transform(element)] }
            }
        }
    }

    /// Stops accepting work and waits until every thread has finished.
    ///
    /// - Parameter cancelPending: cancel the work that has not started (Python's `cancel_futures=True`); otherwise
    ///   it all runs first.
    public func shutdown(cancelPending: Bool = false) async {
        core.shutdown(cancelPending: cancelPending)
        await core.waitForThreads()
    }

    /// Stops accepting work and returns at once, like Python's `shutdown(wait=False)`; running work finishes in
    /// the background.
    /// - Parameter cancelPending: cancel the work that has not started.
    public func shutdownNow(cancelPending: Bool = true) {
        core.shutdown(cancelPending: cancelPending)
    }

    /// Runs a task's job on a pool thread; this makes the pool a `TaskExecutor`.
    public func enqueue(_ job: consuming ExecutorJob) {
        core.push(.job(UnownedJob(job), asUnownedTaskExecutor()))
    }
}

/// Why a ``ThreadPool`` refused or dropped work.
public struct ThreadPoolError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case shutDown
        case broken(String)
    }

    private let code: Code

    /// The pool was shut down before the work was submitted.
    public static let shutDown = ThreadPoolError(code: .shutDown)

    /// The pool's initializer failed, with this error.
    public static func broken(_ cause: any Error) -> ThreadPoolError {
        ThreadPoolError(code: .broken(String(describing: cause)))
    }

    public var description: String {
        switch code {
        case .shutDown: "cannot schedule new work after shutdown"
        case .broken(let cause): "the thread pool is broken: its initializer failed: \(cause)"
        }
    }
}

extension ThreadPool {
    @usableFromInline
    enum Job: Sendable {
        /// Submitted work: called once, to run it or to settle its future when it never will. One closure, not
        /// two, so a submission allocates one context.
        case work(@Sendable (Disposition) -> Void)
        /// A task's job, from the pool's role as a `TaskExecutor`; it always runs.
        case job(UnownedJob, UnownedTaskExecutor)
    }

    /// What becomes of submitted work.
    @usableFromInline
    enum Disposition: Sendable {
        case run
        case cancel
        case fail(any Error)
    }

    /// The threads and their queue, shared by the threads so that the public handle can go away first.
    @usableFromInline
    final class Core: @unchecked Sendable {
        // @unchecked: every mutable field is guarded by `lock`.
        let maxWorkers: Int
        private let namePrefix: String
        private let initializer: (@Sendable () throws -> Void)?
        private let lock = ConditionLock()
        private var jobs = Deque<Job>()
        private var threads = 0
        private var idle = 0
        private var wakeups = 0
        private var startedThreads = 0
        /// Whether a thread is spinning for work instead of sleeping; at most one does, and pushes don't wake
        /// another while it spins.
        private var hasSpinner = false
        /// The queue length, readable without the lock by the spinner.
        private let queued = Atomic<Int>(0)
        private var isShutDown = false
        private var brokenBy: (any Error)?
        private var exitWaiters: [CheckedContinuation<Void, Never>] = []

        init(maxWorkers: Int, namePrefix: String, initializer: (@Sendable () throws -> Void)?) {
            self.maxWorkers = maxWorkers
            self.namePrefix = namePrefix
            self.initializer = initializer
        }

        @usableFromInline
        func push(_ job: Job) {
            lock.lock()
            if case .work(let settle) = job, isShutDown || brokenBy != nil {
                let error: any Error = brokenBy.map { ThreadPoolError.broken($0) } ?? ThreadPoolError.shutDown
                lock.unlock()
                settle(.fail(error))
                return
            }
            jobs.append(job)
            queued.store(jobs.count, ordering: .relaxed)
            // A spinning thread takes it without a wake-up; see `serve` for a burst.
            let newThread = hasSpinner ? nil : recruit()
            lock.unlock()
            if let newThread { start(number: newThread) }
        }

        /// Gets a thread for queued work: wakes a sleeping one, or counts in a new one and returns its number, to
        /// start once the lock is released. Call with the lock held.
        private func recruit() -> Int? {
            if idle > wakeups {
                wakeups += 1
                lock.signal()
            } else if threads < maxWorkers || (isShutDown && threads == 0) {
                threads += 1
                startedThreads += 1
                return startedThreads
            }
            return nil
        }

        func shutdown(cancelPending: Bool) {
            lock.lock()
            isShutDown = true
            var dropped: [Job] = []
            if cancelPending {
                jobs.removeAll { job in
                    guard case .work = job else { return false }
                    dropped.append(job)
                    return true
                }
            }
            lock.broadcast()
            let waiters = threads == 0 ? takeExitWaiters() : []
            lock.unlock()
            for case .work(let settle) in dropped { settle(.cancel) }
            for waiter in waiters { waiter.resume() }
        }

        func waitForThreads() async {
            await withCheckedContinuation { continuation in
                lock.lock()
                if threads == 0 {
                    lock.unlock()
                    continuation.resume()
                } else {
                    exitWaiters.append(continuation)
                    lock.unlock()
                }
            }
        }

        private func takeExitWaiters() -> [CheckedContinuation<Void, Never>] {
            defer { exitWaiters = [] }
            return exitWaiters
        }

        private func start(number: Int) {
            let thread = Thread { [self] in self.serve() }
            thread.name = "\(namePrefix)-\(number)"
            thread.start()
        }

        private func serve() {
            if let initializer {
                do {
                    try initializer()
                } catch {
                    breakPool(error)
                }
            }
            lock.lock()
            while true {
                if let job = jobs.popFirst() {
                    queued.store(jobs.count, ordering: .relaxed)
                    // Pushes leave work to a spinning thread without waking anyone, and it takes one job at a
                    // time: if more is queued, get another thread to share it, or a burst of blocking jobs would
                    // run one after another. Each thread recruited does the same, so the pool fans out in a chain.
                    let helper = !jobs.isEmpty && !hasSpinner ? recruit() : nil
                    lock.unlock()
                    if let helper { start(number: helper) }
                    switch job {
                    case .work(let settle): settle(.run)
                    case .job(let job, let executor): job.runSynchronously(on: executor)
                    }
                    lock.lock()
                    continue
                }
                if isShutDown { break }
                if !hasSpinner {
                    hasSpinner = true
                    lock.unlock()
                    spinForWork()
                    lock.lock()
                    hasSpinner = false
                    if !jobs.isEmpty { continue }
                    if isShutDown { break }
                }
                idle += 1
                lock.wait()
                idle -= 1
                if wakeups > 0 { wakeups -= 1 }
            }
            threads -= 1
            let waiters = threads == 0 ? takeExitWaiters() : []
            lock.unlock()
            for waiter in waiters { waiter.resume() }
        }

        /// Waits briefly for work without sleeping: a burst of small submissions then costs no wake-ups.
        private func spinForWork() {
            for round in 0..<Self.spinRounds {
                if queued.load(ordering: .relaxed) > 0 { return }
                if round % 64 == 63 { sched_yield() }
            }
        }

        private static let spinRounds = 2_000

        private func breakPool(_ error: any Error) {
            lock.lock()
            if brokenBy == nil { brokenBy = error }
            var dropped: [Job] = []
            jobs.removeAll { job in
                guard case .work = job else { return false }
                dropped.append(job)
                return true
            }
            lock.unlock()
            for case .work(let settle) in dropped { settle(.fail(ThreadPoolError.broken(error))) }
        }
    }
}
