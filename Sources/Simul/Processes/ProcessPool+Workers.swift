import CSimulShims
import DequeModule
import Foundation
import Logging
import Synchronization

extension ProcessPool {
    /// The queue and the slots, shared by the slot threads so the public handle can go away first.
    final class Core: Sendable {
        struct State {
            var queue = Deque<Item>()
            var slots: [Slot] = []
            var idleSlots: [Slot] = []
            var isShuttingDown = false
            var brokenBy: ProcessPoolError?
            var exitWaiters: [CheckedContinuation<Void, Never>] = []
            /// Bumped by each restart: a worker started before the last one is replaced.
            var generation: UInt64 = 0
            /// The pid of each slot's worker process.
            var pids: [ObjectIdentifier: pid_t] = [:]
        }

        /// What a slot gets when it asks for work.
        struct Intake {
            var items: [Item] = []
            /// Shutting down and nothing is left to do: close the worker and stop.
            var shouldStop = false
            var brokenBy: ProcessPoolError?
        }

        let configuration: ProcessPoolConfiguration
        let logger: Logger
        let executable: String
        private let state = Mutex(State())

        init(configuration: ProcessPoolConfiguration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
            executable =
                configuration.workerExecutable
                ?? ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe")
        }

        func submit(_ item: Item) {
            enum Action { case fail(ProcessPoolError), wake(Slot), start(Slot), none }
            let action = state.withLock { state -> Action in
                if let broken = state.brokenBy { return .fail(broken) }
                if state.isShuttingDown { return .fail(.shutDown) }
                state.queue.append(item)
                if let slot = state.idleSlots.popLast() {
                    slot.isRegisteredIdle = false
                    return .wake(slot)
                }
                if state.slots.count < configuration.maxWorkers {
                    let slot = Slot(core: self, number: state.slots.count + 1)
                    state.slots.append(slot)
                    return .start(slot)
                }
                return .none
            }
            switch action {
            case .fail(let error): item.finish(.failure(error))
            case .wake(let slot): slot.wake()
            case .start(let slot): slot.start()
            case .none: break
            }
        }

        /// Hands a slot up to `capacity` items; an idle slot with nothing to take is registered for a wake-up.
        func take(for slot: Slot, capacity: Int, isIdle: Bool) -> Intake {
            var intake = Intake()
            state.withLock { state in
                if let broken = state.brokenBy {
                    intake.brokenBy = broken
                    return
                }
                // Commit a second task to a busy worker only when no other worker is free to take it: a slow task
                // must not hold up the work queued behind it while another worker waits.
                let othersHungry =
                    state.slots.count < configuration.maxWorkers
                    || state.slots.contains { $0 !== slot && !$0.hasWork }
                let limit = othersHungry ? (isIdle ? 1 : 0) : capacity
                while intake.items.count < min(limit, capacity), let item = state.queue.popFirst() {
                    let restarted = item.wasStarted.exchange(true, ordering: .relaxed)
                    if restarted || item.start() { intake.items.append(item) }
                }
                slot.hasWork = !intake.items.isEmpty || !isIdle
                if slot.hasWork {
                    if slot.isRegisteredIdle {
                        state.idleSlots.removeAll { $0 === slot }
                        slot.isRegisteredIdle = false
                    }
                    return
                }
                if state.isShuttingDown {
                    intake.shouldStop = true
                } else if !slot.isRegisteredIdle {
                    slot.isRegisteredIdle = true
                    state.idleSlots.append(slot)
                }
            }
            return intake
        }

        /// Which restart a worker started now belongs to.
        var generation: UInt64 { state.withLock { $0.generation } }

        /// Replaces every worker process once its running tasks are done.
        func restart() {
            let slots = state.withLock { state in
                state.generation += 1
                return state.slots
            }
            for slot in slots { slot.wake() }
        }

        /// Notes the pid of `slot`'s worker, or that it has none.
        func setWorker(of slot: Slot, pid: pid_t?) {
            state.withLock { $0.pids[ObjectIdentifier(slot)] = pid }
        }

        var workerPIDs: [pid_t] { state.withLock { $0.pids.values.sorted() } }

        /// Puts items that a crashed worker had not started back at the front of the queue, in order.
        func requeue(_ items: some Collection<Item>) {
            guard !items.isEmpty else { return }
            let slots = state.withLock { state in
                state.queue.insert(contentsOf: items, at: 0)
                return state.slots
            }
            for slot in slots { slot.wake() }
        }

        func cancelRunning(_ item: Item) {
            item.cancelRequested.store(true, ordering: .relaxed)
            item.finish(.failure(CancellationError()))
            for slot in state.withLock({ $0.slots }) { slot.wake() }
        }

        func breakPool(_ error: ProcessPoolError) {
            let (queued, slots) = state.withLock { state -> ([Item], [Slot]) in
                if state.brokenBy == nil { state.brokenBy = error }
                defer { state.queue.removeAll() }
                return (Array(state.queue), state.slots)
            }
            logger.error("\(error.message)")
            for item in queued { item.finish(.failure(error)) }
            for slot in slots { slot.wake() }
        }

        func beginShutdown(cancelPending: Bool) {
            let (cancelled, slots) = state.withLock { state -> ([Item], [Slot]) in
                state.isShuttingDown = true
                guard cancelPending else { return ([], state.slots) }
                var cancelled: [Item] = []
                state.queue.removeAll { item in
                    guard !item.wasStarted.load(ordering: .relaxed) else { return false }
                    cancelled.append(item)
                    return true
                }
                return (cancelled, state.slots)
            }
            for item in cancelled { item.cancel() }
            for slot in slots { slot.wake() }
        }

        func slotExited(_ slot: Slot) {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.slots.removeAll { $0 === slot }
                state.idleSlots.removeAll { $0 === slot }
                state.pids[ObjectIdentifier(slot)] = nil
                guard state.slots.isEmpty, state.isShuttingDown || state.brokenBy != nil else { return [] }
                defer { state.exitWaiters = [] }
                return state.exitWaiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func waitForSlots() async {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state in
                    if state.slots.isEmpty { return true }
                    state.exitWaiters.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
        }
    }
}
