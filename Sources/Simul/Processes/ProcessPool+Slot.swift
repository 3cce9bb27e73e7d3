import CSimulShims
import DequeModule
import Foundation
import Logging
import Synchronization

extension ProcessPool {
    /// One worker place in the pool: a thread that spawns a worker process, feeds it, reads its results, notices
    /// its death and respawns it. Everything but `wake()` and `isRegisteredIdle` belongs to that thread.
    final class Slot: @unchecked Sendable {
        // @unchecked: `isRegisteredIdle` and `hasWork` are only touched under the core's lock, the wake descriptor is written
        // atomically by the kernel, and the rest is confined to the slot's own thread.
        private let core: Core
        private let number: Int
        private let wakeDescriptor = simul_eventfd()
        var isRegisteredIdle = false
        /// Whether the slot has tasks in its worker; guarded by the core's lock like `isRegisteredIdle`.
        var hasWork = false

        private var worker: WorkerProcess?
        private var inFlight = Deque<Item>()
        private var output = Data()
        private var assembler = FrameAssembler()
        private var helloReceived = false
        private var spawnedAt = ContinuousClock.now
        private var headStartedAt = ContinuousClock.now
        private var tasksLeft = Int.max
        private var killReason: KillReason?
        private var closingSince: ContinuousClock.Instant?
        private var terminated = false
        private var bootFailures = 0
        /// The pool's restart generation when the worker started.
        private var workerGeneration: UInt64 = 0
        /// A moving average of task run time, which sets how many tasks to keep queued in the worker.
        private var averageRunNanoseconds = 0.0

        private enum KillReason { case timeout, cancel, protocolError(String), helloTimeout }

        /// How much work to commit to one worker ahead: enough to hide the round trip for small tasks, little
        /// enough that slow tasks stay spread over all workers.
        private var inFlightLimit: Int {
            guard averageRunNanoseconds > 0 else { return 2 }
            return min(256, max(2, Int(2_000_000 / averageRunNanoseconds)))
        }

        init(core: Core, number: Int) {
            self.core = core
            self.number = number
        }

        func start() {
            let thread = Thread { [self] in serve() }
            thread.name = "simul-process-slot-\(number)"
            thread.start()
        }

        func wake() {
            var one: UInt64 = 1
            _ = write(wakeDescriptor, &one, 8)
        }

        private var configuration: ProcessPoolConfiguration { core.configuration }

        private func serve() {
            defer {
                close(wakeDescriptor)
                core.slotExited(self)
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let stopping = takeWork()
                if stopping, worker == nil { return }
                waitForEvents()
                superviseHead()
                if worker != nil { readResponses(into: buffer) }
            }
        }

        /// Takes queued work into the worker; true when the pool is done with this slot.
        private func takeWork() -> Bool {
            // After a restart the worker takes no more work, and its input is closed once its tasks are done: it
            // exits, and the next task starts a fresh one.
            let replaced = worker != nil && workerGeneration != core.generation
            if replaced, inFlight.isEmpty, var worker, closingSince == nil, !terminated {
                worker.closeRequests()
                self.worker = worker
                closingSince = .now
            }
            let canTake = closingSince == nil && !terminated && !replaced
            let budget = worker == nil ? Int.max : tasksLeft
            let capacity = canTake ? max(0, min(inFlightLimit - inFlight.count, budget)) : 0
            let intake = core.take(for: self, capacity: capacity, isIdle: inFlight.isEmpty && canTake)
            if let broken = intake.brokenBy {
                for item in inFlight { item.finish(.failure(broken)) }
                inFlight.removeAll()
                if var worker, !terminated {
                    worker.signal(SIGKILL)
                    terminated = true
                    _ = worker.reap()
                    self.worker = nil
                }
                return true
            }
            for item in intake.items { send(item) }
            if intake.shouldStop, var worker, closingSince == nil {
                worker.closeRequests()
                self.worker = worker
                closingSince = .now
            }
            return intake.shouldStop
        }

        private func send(_ item: Item) {
            if worker == nil {
                guard spawn() else {
                    core.requeue([item])
                    return
                }
            }
            if inFlight.isEmpty { headStartedAt = .now }
            inFlight.append(item)
            output.appendCallFrame(id: item.id, name: item.name, chunk: item.chunk, body: item.body)
            if tasksLeft != .max { tasksLeft -= 1 }
            flush()
        }

        private func spawn() -> Bool {
            do {
                worker = try WorkerProcess.spawn(executable: core.executable, environment: configuration.environment)
            } catch {
                core.breakPool(.poolBroken("cannot start a worker: \(error)"))
                return false
            }
            helloReceived = false
            workerGeneration = core.generation
            core.setWorker(of: self, pid: worker?.pid)
            spawnedAt = .now
            killReason = nil
            closingSince = nil
            terminated = false
            tasksLeft = configuration.maxTasksPerChild ?? .max
            var setup = Data()
            setup.appendInteger(UInt64(configuration.maxTasksPerChild ?? 0))
            setup.appendString16(configuration.initializer?.name ?? "")
            output.appendFrame(.setup, id: 0, setup, configuration.initializer?.input ?? Data())
            return true
        }

        private func flush() {
            guard let worker, worker.requests >= 0, !output.isEmpty else { return }
            if let written = output.write(to: worker.requests) {
                output.removeFirst(written)
            } else {
                output.removeAll()  // the worker is gone; its end of file follows
            }
        }

        private func waitForEvents() {
            var descriptors = [pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            if let worker {
                descriptors.append(pollfd(fd: worker.responses, events: Int16(POLLIN), revents: 0))
                if !output.isEmpty, worker.requests >= 0 {
                    descriptors.append(pollfd(fd: worker.requests, events: Int16(POLLOUT), revents: 0))
                }
            }
            let timeout = nextDeadline().map { deadline -> Int32 in
                let milliseconds = (deadline - .now).seconds * 1000
                return Int32(max(0, min(milliseconds.rounded(.up), 60_000)))
            }
            var ready: Int32
            repeat {
                ready = poll(&descriptors, nfds_t(descriptors.count), timeout ?? -1)
            } while ready < 0 && errno == EINTR
            if descriptors[0].revents != 0 {
                var count: UInt64 = 0
                _ = read(wakeDescriptor, &count, 8)
            }
            if descriptors.count > 2, descriptors[2].revents != 0 { flush() }
        }

        /// The next moment something must be checked without an event: a task timeout, a missing hello, or a
        /// shutdown escalation.
        private func nextDeadline() -> ContinuousClock.Instant? {
            guard worker != nil, !terminated else { return nil }
            var deadlines: [ContinuousClock.Instant] = []
            if !helloReceived { deadlines.append(spawnedAt + .seconds(30)) }
            if let timeout = configuration.taskTimeout, !inFlight.isEmpty, helloReceived {
                deadlines.append(headStartedAt + timeout)
            }
            if let closingSince {
                let grace = configuration.shutdownGrace
                deadlines.append(closingSince + (killReason == nil ? grace : grace * 2))
            }
            return deadlines.min()
        }

        /// Kills the worker when its running task timed out or was cancelled, or when shutdown takes too long.
        private func superviseHead() {
            guard let worker, !terminated else { return }
            let now = ContinuousClock.now
            if let head = inFlight.first, head.cancelRequested.load(ordering: .relaxed) {
                kill(worker, for: .cancel)
            } else if let timeout = configuration.taskTimeout, !inFlight.isEmpty, helloReceived,
                now >= headStartedAt + timeout
            {
                kill(worker, for: .timeout)
            } else if !helloReceived, now >= spawnedAt + .seconds(30) {
                kill(worker, for: .helloTimeout)
            } else if let closingSince {
                if now >= closingSince + configuration.shutdownGrace * 2 {
                    worker.signal(SIGKILL)
                    terminated = true
                } else if now >= closingSince + configuration.shutdownGrace, killReason == nil {
                    worker.signal(SIGTERM)
                    killReason = .helloTimeout
                }
            }
        }

        private func kill(_ worker: WorkerProcess, for reason: KillReason) {
            killReason = reason
            terminated = true
            worker.signal(SIGKILL)
        }

        private func readResponses(into buffer: UnsafeMutableRawBufferPointer) {
            guard let worker else { return }
            var ended = false
            while true {
                let count = read(worker.responses, buffer.baseAddress, buffer.count)
                if count > 0 {
                    assembler.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    if count < buffer.count { break }
                    continue
                }
                if count == 0 {
                    ended = true
                } else if errno == EINTR {
                    continue
                } else if errno != EAGAIN {
                    ended = true
                }
                break
            }
            do {
                while let frame = try assembler.next() { handle(frame) }
            } catch {
                if !terminated { kill(worker, for: .protocolError("\(error)")) }
            }
            if ended { workerExited() }
        }

        private func handle(_ frame: Frame) {
            switch frame.kind {
            case .hello:
                helloReceived = true
                bootFailures = 0
            case .setupFailed:
                let failure = WorkerLoop.decodeFailure(frame.payload)
                core.breakPool(
                    .initializerFailed(
                        task: configuration.initializer?.name ?? "",
                        type: failure?.type ?? "Error",
                        message: failure?.message ?? "unknown error"
                    )
                )
            case .result, .failure:
                guard let head = inFlight.first, head.id == frame.id else {
                    if let worker, !terminated { kill(worker, for: .protocolError("unexpected result \(frame.id)")) }
                    return
                }
                inFlight.removeFirst()
                headStartedAt = .now
                var reader = PayloadReader(frame.payload)
                if frame.kind == .result, let nanoseconds = try? reader.integer(UInt64.self) {
                    let sample = Double(nanoseconds)
                    averageRunNanoseconds =
                        averageRunNanoseconds == 0 ? sample : 0.8 * averageRunNanoseconds + 0.2 * sample
                    head.finish(.success(reader.rest()))
                } else if let failure = WorkerLoop.decodeFailure(frame.payload) {
                    head.finish(.failure(Self.error(for: failure, task: head.name)))
                } else {
                    head.finish(
                        .failure(
                            ProcessPoolError.decoding(task: head.name, message: "a malformed reply from the worker")))
                }
            case .update:
                // Only the running call sends them; a late one, whose call was settled, is dropped.
                inFlight.first { $0.id == frame.id }?.update?(frame.payload)
            case .setup, .call:
                if let worker, !terminated { kill(worker, for: .protocolError("unexpected \(frame.kind) frame")) }
            }
        }

        private static func error(for failure: WorkerFailure, task: String) -> ProcessPoolError {
            switch failure.kind {
            case .thrown: .remote(task: task, type: failure.type, message: failure.message)
            case .unknownTask: .unknownTask(task, detail: failure.message)
            case .decoding: .decoding(task: task, message: failure.message)
            case .encoding: .encoding(task: task, message: failure.message)
            }
        }

        /// The worker's output ended: reap it, settle the task it was running, and requeue the rest.
        private func workerExited() {
            guard var worker else { return }
            let status = worker.reap(grace: configuration.shutdownGrace)
            self.worker = nil
            core.setWorker(of: self, pid: nil)
            output.removeAll()
            assembler = FrameAssembler()
            let reason = killReason
            killReason = nil
            let wasClosing = closingSince != nil
            closingSince = nil
            terminated = false
            guard let head = inFlight.popFirst() else {
                if status != 0, !wasClosing {
                    core.logger.warning("process pool worker \(worker.pid) exited unexpectedly (status \(status))")
                }
                return
            }
            let rest = inFlight
            inFlight.removeAll()
            // A worker killed for its task's timeout or cancellation did not fail to start, even if it had not yet.
            let killedForItsTask: Bool
            switch reason {
            case .cancel?, .timeout?: killedForItsTask = true
            default: killedForItsTask = false
            }
            if !helloReceived, !killedForItsTask {
                bootFailures += 1
                core.requeue(CollectionOfOne(head) + rest)
                if bootFailures >= 3 {
                    let error = ProcessPoolError.workerCrashed(task: "startup", pid: worker.pid, status: status)
                    core.breakPool(.poolBroken("workers exit before they start: \(error.message)"))
                }
                return
            }
            switch reason {
            case .timeout:
                head.finish(
                    .failure(ProcessPoolError.timedOut(task: head.name, after: configuration.taskTimeout ?? .zero)))
            case .cancel:
                head.finish(.failure(CancellationError()))
            case .protocolError(let detail):
                head.finish(
                    .failure(ProcessPoolError.poolBroken("worker \(worker.pid) broke the pipe protocol: \(detail)")))
            case .helloTimeout, nil:
                let crash = ProcessPoolError.workerCrashed(task: head.name, pid: worker.pid, status: status)
                core.logger.warning("\(crash.message); respawning")
                head.finish(.failure(crash))
                if configuration.crashPolicy == .breakPool {
                    for item in rest { item.finish(.failure(ProcessPoolError.poolBroken(crash.message))) }
                    core.breakPool(.poolBroken(crash.message))
                    return
                }
            }
            core.requeue(rest)
        }
    }
}
