import DequeModule

extension AsyncQueue {
    /// The queue's bookkeeping, free of locks, tasks and time: every method says what to resume, and the caller
    /// does it after unlocking. `Consumer` and `Producer` are continuations in production and any tokens in tests.
    ///
    /// A waiting producer's element is held here, next to the producer, so it enters the queue in its turn at the
    /// moment space frees up; nothing has to retry. Invariants: consumers wait only while `items` is empty, and
    /// producers wait only while `items` is full.
    struct StateMachine<Consumer, Producer> {
        /// What `put` should do.
        enum PutAction {
            /// The element went straight to this waiting consumer: resume it with the element, then return.
            case resumeConsumer(Consumer, Element)
            /// The element was appended; return.
            case enqueued
            /// The queue is full: `tryPut` throws ``AsyncQueueError/full``; `put` suspends, then calls
            /// `producerSuspended` with this id.
            case full(id: UInt64)
            /// The queue is shut down: throw ``AsyncQueueError/shutDown``.
            case shutDown
        }

        /// What a suspended producer's registration leads to.
        enum ProducerAction {
            /// Resume the producer with this outcome, and, if given, a consumer with the element.
            case resume(Producer, Result<Void, any Error>, handOff: (Consumer, Element)?)
            /// The producer waits in line.
            case wait
        }

        /// What `get` should do.
        enum GetAction {
            /// Return this element, after resuming the producer whose element took its place, if any.
            case element(Element, resumeProducer: Producer?)
            /// The queue is empty: `tryGet` returns `nil`; `get` suspends, then calls `consumerSuspended` with
            /// this id.
            case empty(id: UInt64)
            /// The queue is shut down and drained: throw ``AsyncQueueError/shutDown``.
            case shutDown
        }

        /// What a suspended consumer's registration leads to.
        enum ConsumerAction {
            /// Resume the consumer with this outcome, and, if given, the producer whose element took its place.
            case resume(Consumer, Result<Element, any Error>, resumeProducer: Producer?)
            /// The consumer waits in line.
            case wait
        }

        /// Who `shutdown` wakes; all of them get ``AsyncQueueError/shutDown``.
        struct ShutdownAction {
            var consumers: [Consumer]
            var producers: [Producer]
        }

        let maxSize: Int
        private var items: Deque<Element> = []
        private var consumers: Deque<(id: UInt64, consumer: Consumer)> = []
        private var producers: Deque<(id: UInt64, element: Element, producer: Producer)> = []
        private(set) var isShutDown = false
        private var nextID: UInt64 = 0

        init(maxSize: Int) {
            precondition(maxSize >= 0, "AsyncQueue needs maxSize >= 0 (0 means unbounded), got \(maxSize)")
            self.maxSize = maxSize
        }

        /// The number of elements in the queue, not counting those of waiting producers.
        var count: Int { items.count }
        var waitingConsumerCount: Int { consumers.count }
        var waitingProducerCount: Int { producers.count }

        private var hasSpace: Bool { maxSize == 0 || items.count < maxSize }

        private mutating func makeID() -> UInt64 {
            defer { nextID += 1 }
            return nextID
        }

        // MARK: put

        mutating func put(_ element: Element) -> PutAction {
            if isShutDown { return .shutDown }
            if let first = consumers.popFirst() { return .resumeConsumer(first.consumer, element) }
            guard hasSpace else { return .full(id: makeID()) }
            items.append(element)
            return .enqueued
        }

        /// Registers a suspended producer, unless things changed since `put` said `.full`.
        /// - Parameter isCancelled: whether the producer's task is cancelled, read while the lock is held.
        mutating func producerSuspended(
            id: UInt64,
            element: Element,
            producer: Producer,
            isCancelled: Bool
        ) -> ProducerAction {
            if isShutDown { return .resume(producer, .failure(AsyncQueueError.shutDown), handOff: nil) }
            if let first = consumers.popFirst() {
                return .resume(producer, .success(()), handOff: (first.consumer, element))
            }
            if hasSpace {
                items.append(element)
                return .resume(producer, .success(()), handOff: nil)
            }
            if isCancelled { return .resume(producer, .failure(CancellationError()), handOff: nil) }
            producers.append((id, element, producer))
            return .wait
        }

        /// Removes a waiting producer whose task was cancelled; its element never enters the queue.
        /// - Returns: the producer to resume with `CancellationError`, or `nil` if it isn't waiting (its element
        ///   was already accepted, or it hasn't registered yet and will see the cancellation then).
        mutating func producerCancelled(id: UInt64) -> Producer? {
            guard let index = producers.firstIndex(where: { $0.id == id }) else { return nil }
            return producers.remove(at: index).producer
        }

        // MARK: get

        mutating func get() -> GetAction {
            guard let element = items.popFirst() else {
                return isShutDown ? .shutDown : .empty(id: makeID())
            }
            return .element(element, resumeProducer: admitWaitingProducer())
        }

        /// Registers a suspended consumer, unless things changed since `get` said `.empty`.
        /// - Parameter isCancelled: whether the consumer's task is cancelled, read while the lock is held.
        mutating func consumerSuspended(id: UInt64, consumer: Consumer, isCancelled: Bool) -> ConsumerAction {
            if let element = items.popFirst() {
                return .resume(consumer, .success(element), resumeProducer: admitWaitingProducer())
            }
            if isShutDown { return .resume(consumer, .failure(AsyncQueueError.shutDown), resumeProducer: nil) }
            if isCancelled { return .resume(consumer, .failure(CancellationError()), resumeProducer: nil) }
            consumers.append((id, consumer))
            return .wait
        }

        /// Removes a waiting consumer whose task was cancelled.
        /// - Returns: the consumer to resume with `CancellationError`, or `nil` if it isn't waiting (an element was
        ///   already handed to it, which it will return, or it hasn't registered yet).
        mutating func consumerCancelled(id: UInt64) -> Consumer? {
            guard let index = consumers.firstIndex(where: { $0.id == id }) else { return nil }
            return consumers.remove(at: index).consumer
        }

        /// Moves the first waiting producer's element into the space a `get` just freed.
        private mutating func admitWaitingProducer() -> Producer? {
            guard let first = producers.popFirst() else { return nil }
            items.append(first.element)
            return first.producer
        }

        // MARK: shutdown

        /// Shuts the queue down: no more puts; gets drain what is left, or nothing if `immediate`.
        mutating func shutdown(immediate: Bool) -> ShutdownAction {
            isShutDown = true
            if immediate { items.removeAll() }
            let action = ShutdownAction(
                consumers: consumers.map(\.consumer),
                producers: producers.map(\.producer)
            )
            consumers.removeAll()
            producers.removeAll()
            return action
        }
    }
}
