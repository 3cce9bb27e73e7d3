import SimulTestSupport
import Testing

@testable import Simul

/// The state machine alone: no tasks, no locks, no time. Consumers and producers are plain strings.
@Suite struct AsyncQueueStateMachineTests {
    typealias Machine = AsyncQueue<Int>.StateMachine<String, String>

    private func element(_ action: Machine.GetAction) -> (Int, String?)? {
        if case .element(let element, let producer) = action { return (element, producer) }
        return nil
    }

    private func isFull(_ action: Machine.PutAction) -> Bool {
        if case .full = action { return true }
        return false
    }

    private func isEnqueued(_ action: Machine.PutAction) -> Bool {
        if case .enqueued = action { return true }
        return false
    }

    @Test func unboundedQueueIsFirstInFirstOut() {
        var machine = Machine(maxSize: 0)
        for value in 1...100 { #expect(isEnqueued(machine.put(value))) }
        #expect(machine.count == 100)
        for value in 1...100 { #expect(element(machine.get())?.0 == value) }
        guard case .empty = machine.get() else {
            Issue.record("expected an empty queue")
            return
        }
    }

    @Test func boundedQueueReportsFullAndAdmitsWaitingProducersInOrder() throws {
        var machine = Machine(maxSize: 2)
        #expect(isEnqueued(machine.put(1)))
        #expect(isEnqueued(machine.put(2)))
        guard case .full(let firstID) = machine.put(3), case .full(let secondID) = machine.put(4) else {
            Issue.record("expected a full queue")
            return
        }
        #expect(firstID != secondID)
        guard case .wait = machine.producerSuspended(id: firstID, element: 3, producer: "p3", isCancelled: false),
            case .wait = machine.producerSuspended(id: secondID, element: 4, producer: "p4", isCancelled: false)
        else {
            Issue.record("expected the producers to wait")
            return
        }
        #expect(machine.waitingProducerCount == 2)
        // Each get frees a place, which the longest-waiting producer's element takes.
        let first = try #require(element(machine.get()))
        #expect(first.0 == 1 && first.1 == "p3")
        let second = try #require(element(machine.get()))
        #expect(second.0 == 2 && second.1 == "p4")
        #expect(machine.count == 2)
        #expect(element(machine.get())?.0 == 3)
        #expect(element(machine.get())?.0 == 4)
        #expect(machine.waitingProducerCount == 0)
    }

    @Test func putHandsOffToTheLongestWaitingConsumer() {
        var machine = Machine(maxSize: 1)
        guard case .empty(let a) = machine.get(), case .empty(let b) = machine.get() else {
            Issue.record("expected an empty queue")
            return
        }
        guard case .wait = machine.consumerSuspended(id: a, consumer: "a", isCancelled: false),
            case .wait = machine.consumerSuspended(id: b, consumer: "b", isCancelled: false)
        else {
            Issue.record("expected the consumers to wait")
            return
        }
        guard case .resumeConsumer("a", 10) = machine.put(10), case .resumeConsumer("b", 20) = machine.put(20) else {
            Issue.record("expected hand-offs to a, then b")
            return
        }
        #expect(machine.count == 0)
        #expect(machine.waitingConsumerCount == 0)
    }

    @Test func cancelledWaitersLeaveTheLine() {
        var machine = Machine(maxSize: 1)
        _ = machine.consumerSuspended(id: 0, consumer: "a", isCancelled: false)
        _ = machine.consumerSuspended(id: 1, consumer: "b", isCancelled: false)
        #expect(machine.consumerCancelled(id: 0) == "a")
        #expect(machine.consumerCancelled(id: 0) == nil)
        guard case .resumeConsumer("b", 5) = machine.put(5) else {
            Issue.record("expected a hand-off to b")
            return
        }
        #expect(isEnqueued(machine.put(6)))
        _ = machine.producerSuspended(id: 2, element: 7, producer: "p7", isCancelled: false)
        #expect(machine.producerCancelled(id: 2) == "p7")
        #expect(element(machine.get())?.0 == 6)
        #expect(machine.count == 0)  // 7 was withdrawn with its producer
    }

    @Test func cancellationSeenAtRegistrationIsNotQueued() {
        var machine = Machine(maxSize: 1)
        guard
            case .resume("a", .failure(let error), nil) =
                machine.consumerSuspended(id: 0, consumer: "a", isCancelled: true)
        else {
            Issue.record("expected the consumer to be cancelled")
            return
        }
        #expect(error is CancellationError)
        _ = machine.put(1)
        guard
            case .resume("p", .failure(let error), nil) =
                machine.producerSuspended(id: 1, element: 2, producer: "p", isCancelled: true)
        else {
            Issue.record("expected the producer to be cancelled")
            return
        }
        #expect(error is CancellationError)
        #expect(machine.waitingConsumerCount == 0 && machine.waitingProducerCount == 0)
        #expect(machine.count == 1)
    }

    @Test func availableElementWinsOverCancellationAtRegistration() {
        var machine = Machine(maxSize: 0)
        _ = machine.put(9)
        guard
            case .resume("a", .success(9), nil) =
                machine.consumerSuspended(id: 0, consumer: "a", isCancelled: true)
        else {
            Issue.record("expected the element to be delivered")
            return
        }
    }

    @Test func shutdownWakesWaitersAndLetsConsumersDrain() {
        var machine = Machine(maxSize: 1)
        _ = machine.put(1)
        _ = machine.producerSuspended(id: 0, element: 2, producer: "p", isCancelled: false)
        let action = machine.shutdown(immediate: false)
        #expect(action.producers == ["p"])
        #expect(action.consumers.isEmpty)
        guard case .shutDown = machine.put(3) else {
            Issue.record("expected put to fail after shutdown")
            return
        }
        #expect(element(machine.get())?.0 == 1)
        guard case .shutDown = machine.get() else {
            Issue.record("expected get to fail once drained")
            return
        }
    }

    @Test func shutdownWakesWaitingConsumers() {
        var machine = Machine(maxSize: 0)
        _ = machine.consumerSuspended(id: 0, consumer: "a", isCancelled: false)
        _ = machine.consumerSuspended(id: 1, consumer: "b", isCancelled: false)
        let action = machine.shutdown(immediate: false)
        #expect(action.consumers == ["a", "b"])
        guard
            case .resume("c", .failure(let error), nil) =
                machine.consumerSuspended(id: 2, consumer: "c", isCancelled: false)
        else {
            Issue.record("expected a late consumer to fail")
            return
        }
        #expect(error as? AsyncQueueError == .shutDown)
    }

    @Test func immediateShutdownDropsElements() {
        var machine = Machine(maxSize: 0)
        for value in 1...3 { _ = machine.put(value) }
        _ = machine.shutdown(immediate: true)
        #expect(machine.count == 0)
        guard case .shutDown = machine.get() else {
            Issue.record("expected get to fail at once")
            return
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct AsyncQueueTests {
    @Test func deliversInOrder() async throws {
        let queue = AsyncQueue<Int>()
        for value in 1...5 { try await queue.put(value) }
        #expect(queue.count == 5)
        var received: [Int] = []
        for _ in 1...5 { received.append(try await queue.get()) }
        #expect(received == [1, 2, 3, 4, 5])
        #expect(queue.tryGet() == nil)
    }

    @Test func tryPutThrowsFullWithAClearMessage() throws {
        let queue = AsyncQueue<String>(maxSize: 2)
        try queue.tryPut("a")
        try queue.tryPut("b")
        let error = #expect(throws: AsyncQueueError.full) { try queue.tryPut("c") }
        #expect(error?.description == "the queue is full")
        #expect(queue.tryGet() == "a")
        try queue.tryPut("c")
        #expect(queue.count == 2)
    }

    @Test func putWaitsWhileFullAndProducersAreServedInOrder() async throws {
        let queue = AsyncQueue<Int>(maxSize: 1)
        try await queue.put(0)
        var producers: [Task<Void, any Error>] = []
        for value in 1...3 {
            producers.append(Task { try await queue.put(value) })
            try await waitUntil("producer \(value) waiting") { queue.waitingProducerCount == value }
        }
        #expect(queue.count == 1)  // backpressure: nothing got past the bound
        var received: [Int] = []
        for _ in 0...3 { received.append(try await queue.get()) }
        #expect(received == [0, 1, 2, 3])
        for producer in producers { try await producer.value }
    }

    @Test func waitingConsumersAreServedInOrder() async throws {
        let queue = AsyncQueue<String>()
        var consumers: [Task<String, any Error>] = []
        for index in 1...3 {
            consumers.append(Task { try await queue.get() })
            try await waitUntil("consumer \(index) waiting") { queue.waitingConsumerCount == index }
        }
        for value in ["x", "y", "z"] { try queue.tryPut(value) }
        var received: [String] = []
        for consumer in consumers { received.append(try await consumer.value) }
        #expect(received == ["x", "y", "z"])
    }

    @Test func shutdownLetsConsumersDrainThenThrows() async throws {
        let queue = AsyncQueue<Int>(maxSize: 2)
        try queue.tryPut(1)
        try queue.tryPut(2)
        let producer = Task { try await queue.put(3) }
        try await waitUntil("producer waiting") { queue.waitingProducerCount == 1 }
        queue.shutdown()
        await #expect(throws: AsyncQueueError.shutDown) { try await producer.value }
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.put(4) }
        #expect(throws: AsyncQueueError.shutDown) { try queue.tryPut(4) }
        #expect(try await queue.get() == 1)
        #expect(try await queue.get() == 2)
        let error = await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
        #expect(error?.description == "the queue is shut down")
    }

    @Test func shutdownWakesWaitingConsumers() async throws {
        let queue = AsyncQueue<Int>()
        let consumer = Task { try await queue.get() }
        try await waitUntil("consumer waiting") { queue.waitingConsumerCount == 1 }
        queue.shutdown()
        await #expect(throws: AsyncQueueError.shutDown) { try await consumer.value }
    }

    @Test func immediateShutdownDropsTheElements() async throws {
        let queue = AsyncQueue<Int>()
        for value in 1...3 { try queue.tryPut(value) }
        queue.shutdown(immediate: true)
        #expect(queue.count == 0)
        #expect(queue.tryGet() == nil)
        await #expect(throws: AsyncQueueError.shutDown) { try await queue.get() }
    }

    @Test func iterationEndsAfterShutdownOnceDrained() async throws {
        let queue = AsyncQueue<Int>(maxSize: 2)
        let producer = Task {
            for value in 1...10 { try await queue.put(value) }
            queue.shutdown()
        }
        var received: [Int] = []
        for await value in queue { received.append(value) }
        #expect(received == Array(1...10))
        try await producer.value
    }

    @Test func cancelledConsumerThrowsAndLosesNothing() async throws {
        let queue = AsyncQueue<Int>()
        let consumer = Task { try await queue.get() }
        try await waitUntil("consumer waiting") { queue.waitingConsumerCount == 1 }
        consumer.cancel()
        await #expect(throws: CancellationError.self) { try await consumer.value }
        #expect(queue.waitingConsumerCount == 0)
        try queue.tryPut(1)
        #expect(queue.count == 1)  // not handed to the cancelled consumer
    }

    @Test func cancelledProducerThrowsAndItsElementIsNotAdded() async throws {
        let queue = AsyncQueue<Int>(maxSize: 1)
        try queue.tryPut(1)
        let producer = Task { try await queue.put(2) }
        try await waitUntil("producer waiting") { queue.waitingProducerCount == 1 }
        producer.cancel()
        await #expect(throws: CancellationError.self) { try await producer.value }
        #expect(queue.tryGet() == 1)
        #expect(queue.tryGet() == nil)
    }

    @Test func cancellationRacingAHandOffLosesNothing() async throws {
        for round in 0..<200 {
            let queue = AsyncQueue<Int>()
            let consumer = Task { try await queue.get() }
            try await waitUntil("consumer waiting") { queue.waitingConsumerCount == 1 }
            try queue.tryPut(round)
            consumer.cancel()
            switch await consumer.result {
            case .success(let value):
                #expect(value == round)
                #expect(queue.count == 0)
            case .failure(let error):
                #expect(error is CancellationError)
                #expect(queue.tryGet() == round)
            }
        }
    }

    @Test func manyProducersAndConsumersDeliverEachElementOnce() async throws {
        let queue = AsyncQueue<Int>(maxSize: 8)
        let received = Recorder<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for consumer in 0..<4 {
                group.addTask {
                    for await value in queue { received.record(value) }
                    _ = consumer
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { producers in
                for producer in 0..<4 {
                    producers.addTask {
                        for value in 0..<1_000 { try await queue.put(producer * 1_000 + value) }
                    }
                }
                try await producers.waitForAll()
            }
            queue.shutdown()
            try await group.waitForAll()
        }
        #expect(received.all.count == 4_000)
        #expect(Set(received.all) == Set(0..<4_000))
    }
}
