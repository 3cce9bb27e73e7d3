import Synchronization

extension AsyncQueue {
    /// Holds the state machine behind a lock and resumes continuations after unlocking.
    final class Storage: Sendable {
        typealias Machine = StateMachine<CheckedContinuation<Element, any Error>, CheckedContinuation<Void, any Error>>

        private let state: Mutex<Machine>

        init(maxSize: Int) {
            state = Mutex(Machine(maxSize: maxSize))
        }

        var count: Int { state.withLock { $0.count } }
        var waitingConsumerCount: Int { state.withLock { $0.waitingConsumerCount } }
        var waitingProducerCount: Int { state.withLock { $0.waitingProducerCount } }

        func tryPut(_ element: sending Element) throws(AsyncQueueError) {
            switch state.withLock({ $0.put(element) }) {
            case .resumeConsumer(let consumer, let element): consumer.resume(returning: element)
            case .enqueued: return
            case .full: throw .full
            case .shutDown: throw .shutDown
            }
        }

        func put(_ element: sending Element) async throws {
            try Task.checkCancellation()
            let id: UInt64
            switch state.withLock({ $0.put(element) }) {
            case .resumeConsumer(let consumer, let element):
                consumer.resume(returning: element)
                return
            case .enqueued: return
            case .full(let waiterID): id = waiterID
            case .shutDown: throw AsyncQueueError.shutDown
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (producer: CheckedContinuation<Void, any Error>) in
                    let action = state.withLock {
                        $0.producerSuspended(
                            id: id,
                            element: element,
                            producer: producer,
                            isCancelled: Task.isCancelled
                        )
                    }
                    if case .resume(let producer, let outcome, let handOff) = action {
                        if let (consumer, element) = handOff { consumer.resume(returning: element) }
                        producer.resume(with: outcome)
                    }
                }
            } onCancel: {
                state.withLock { $0.producerCancelled(id: id) }?.resume(throwing: CancellationError())
            }
        }

        func tryGet() -> Element? {
            guard case .element(let element, let producer) = state.withLock({ $0.get() }) else { return nil }
            producer?.resume()
            return element
        }

        func get() async throws -> Element {
            try Task.checkCancellation()
            let id: UInt64
            switch state.withLock({ $0.get() }) {
            case .element(let element, let producer):
                producer?.resume()
                return element
            case .empty(let waiterID): id = waiterID
            case .shutDown: throw AsyncQueueError.shutDown
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (consumer: CheckedContinuation<Element, any Error>) in
                    let action = state.withLock {
                        $0.consumerSuspended(id: id, consumer: consumer, isCancelled: Task.isCancelled)
                    }
                    if case .resume(let consumer, let outcome, let producer) = action {
                        producer?.resume()
                        consumer.resume(with: outcome)
                    }
                }
            } onCancel: {
                state.withLock { $0.consumerCancelled(id: id) }?.resume(throwing: CancellationError())
            }
        }

        func shutdown(immediate: Bool) {
            let action = state.withLock { $0.shutdown(immediate: immediate) }
            for consumer in action.consumers { consumer.resume(throwing: AsyncQueueError.shutDown) }
            for producer in action.producers { producer.resume(throwing: AsyncQueueError.shutDown) }
        }
    }
}
