import Foundation
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulTestSupport
import Testing

/// `divide(dividend, divisor, label=None)`, which fails as Python's `divmod` does on a zero divisor.
struct Divide: BlockingQueueTask {
    static let name = "shop.divide"
    struct Arguments: Codable, Sendable {
        var dividend: Int
        var divisor: Int
        var label: String?
    }
    struct Output: Codable, Sendable, Equatable {
        var quotient: Int
        var remainder: Int
        var label: String?
    }

    func run(_ arguments: Arguments) throws -> Output {
        guard arguments.divisor != 0 else {
            throw TaskError(type: "ZeroDivisionError", message: "integer division or modulo by zero")
        }
        return Output(
            quotient: arguments.dividend / arguments.divisor, remainder: arguments.dividend % arguments.divisor,
            label: arguments.label)
    }
}

/// A chain step after ``Divide``: `scale(input, factor)`, the quotient times the factor.
struct Scale: QueueTask {
    static let name = "shop.scale"
    struct Factor: Codable, Sendable { var factor: Int }
    typealias Arguments = ChainedArguments<Divide.Output, Factor>

    func run(_ arguments: Arguments) async throws -> Int { arguments.input.quotient * arguments.rest.factor }
}

/// A chord body after ``Divide``s: `total(input, offset)`, the sum of the quotients plus the offset.
struct Total: QueueTask {
    static let name = "shop.total"
    struct Offset: Codable, Sendable { var offset: Int }
    typealias Arguments = ChainedArguments<[Divide.Output], Offset>

    func run(_ arguments: Arguments) async throws -> Int {
        arguments.input.map(\.quotient).reduce(arguments.rest.offset, +)
    }
}

/// Sends a ``Divide`` of its own through the worker's client, as a Celery task calls `delay`, and returns its id.
struct DivideLater: QueueTask {
    static let name = "shop.divide-later"
    struct Arguments: Codable, Sendable { var dividend: Int }

    func run(_ arguments: Arguments) async throws -> String {
        guard let client = TaskContext.current?.client else { throw TaskError.valueError("no client") }
        return try await client.send(Divide.self, .init(dividend: arguments.dividend, divisor: 4)).id
    }
}

/// Another task that claims Divide's name.
struct OtherDivide: BlockingQueueTask {
    static let name = "shop.divide"
    struct Arguments: Codable, Sendable { var x: Int }

    func run(_ arguments: Arguments) -> Int { arguments.x }
}

/// A task only declared, as one another worker runs, whose arguments may not encode; its messages go to `shop`.
struct Measure: TaskDefinition {
    static let name = "shop.measure"
    static let options = TaskOptions(queue: "shop")
    struct Arguments: Codable, Sendable { var length: Double }
    typealias Output = Double
}

@Suite(.timeLimit(.minutes(3))) struct TypedTaskTests {
    static let catalog: TaskCatalog = {
        var catalog = TaskCatalog()
        catalog.register(Divide())
        catalog.register(Scale())
        catalog.register(Total())
        catalog.register(DivideLater())
        return catalog
    }()

    @Test(arguments: BrokerKind.allCases)
    func typedGetReturnsTheOutputThroughAWorker(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        let queue = QueueHarness(catalog: Self.catalog, broker: try kind.make(in: scratch))
        let result = try await queue.client.send(Divide.self, .init(dividend: 17, divisor: 5, label: "a"))
        let output: Divide.Output = try await result.get(timeout: .seconds(30))
        #expect(output == Divide.Output(quotient: 3, remainder: 2, label: "a"))
        #expect(try await result.state() == .success)
        try await queue.stop()
    }

    /// A task sends tasks of its own through ``TaskContext/client``, on the worker's broker and backend; a context
    /// made outside a worker has none.
    @Test func aTaskSendsTasksThroughItsWorkersClient() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let id = try await queue.client.send(DivideLater.self, .init(dividend: 9)).get(timeout: .seconds(30))
        let output = try await queue.client.result(id, of: Divide.self).get(timeout: .seconds(30))
        #expect(output == Divide.Output(quotient: 2, remainder: 1, label: nil))
        #expect(TaskContext(id: "x", name: "shop.divide-later", retries: 0, hostname: "h").client == nil)
        try await queue.stop()
    }

    /// A Swift typed send, Python's `send_task('shop.divide', args=[17, 5])`, its keyword form, and a mix, all reach
    /// `run` with the same arguments; a left-out optional is `nil`.
    @Test func argumentsBindTheSameFromTypedPositionalAndKeywordSends() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let typed = try await queue.client.send(Divide.self, .init(dividend: 17, divisor: 5)).untyped
        let positional = try await queue.client.send("shop.divide", args: [17, 5])
        let keywords = try await queue.client.send("shop.divide", kwargs: ["divisor": 5, "dividend": 17])
        let mixed = try await queue.client.send("shop.divide", args: [17], kwargs: ["divisor": 5])
        let labelled = try await queue.client.send("shop.divide", args: [17, 5, "b"])
        for result in [typed, positional, keywords, mixed] {
            let output = try await TypedResult<Divide.Output>(result).get(timeout: .seconds(30))
            #expect(output == Divide.Output(quotient: 3, remainder: 2, label: nil))
        }
        #expect(try await labelled.get(timeout: .seconds(30)) == ["quotient": 3, "remainder": 2, "label": "b"])
        try await queue.stop()
    }

    @Test func aTypedSendWritesKeywordArguments() throws {
        let signature = try TypedSignature(Divide.self, .init(dividend: 17, divisor: 5, label: "a")).signature
        #expect(signature.task == "shop.divide")
        #expect(signature.args == [])
        #expect(signature.kwargs == ["dividend": 17, "divisor": 5, "label": "a"])
    }

    @Test(
        arguments: [
            (
                [JSONValue](), ["dividend": "big", "divisor": 2],
                "shop.divide() argument 'dividend' must be Int, got \"big\""
            ),
            (
                [], ["dividend": 1, "divisor": 2, "colour": "red"],
                "shop.divide() got an unexpected keyword argument 'colour'"
            ),
            ([], ["dividend": 1], "shop.divide() missing required argument: 'divisor'"),
            ([1], ["dividend": 1, "divisor": 2], "shop.divide() got multiple values for argument 'dividend'"),
            ([1, 2, "a"], ["label": "b"], "shop.divide() got multiple values for argument 'label'"),
            ([1, 2, "a", 4], [:], "shop.divide() takes 3 positional arguments but 4 were given"),
        ] as [([JSONValue], [String: JSONValue], String)])
    func argumentsThatDoNotFitTheTypeFailWithTypeErrorAndAreAcknowledged(
        args: [JSONValue], kwargs: [String: JSONValue], message: String
    ) async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let result = try await queue.client.send("shop.divide", args: args, kwargs: kwargs)
        let error = try await #require(throws: TaskError.self) {
            _ = try await TypedResult<Divide.Output>(result).get(timeout: .seconds(30))
        }
        #expect(error.type == "TypeError")
        #expect(error.message == message)
        #expect(try await result.state() == .failure)
        try await waitUntil("acknowledged") { try await queue.broker.queueLengths().isEmpty }
        try await queue.stop()
        #expect(try await queue.broker.receive(from: ["celery"], limit: 10, lease: .seconds(1), timeout: .zero).isEmpty)
    }

    @Test func aFailureThrowsTheRemoteTypeMessageAndTraceback() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let result = try await queue.client.send(Divide.self, .init(dividend: 1, divisor: 0))
        let error = try await #require(throws: TaskError.self) { _ = try await result.get(timeout: .seconds(30)) }
        #expect(error.type == "ZeroDivisionError")
        #expect(error.message == "integer division or modulo by zero")
        #expect(error.traceback?.hasSuffix("ZeroDivisionError: integer division or modulo by zero\n") == true)
        try await queue.stop()
    }

    @Test func argumentsThatCannotBeEncodedAreRefusedAndNothingIsSent() async throws {
        let broker = MemoryBroker()
        let client = QueueClient(broker: broker, backend: broker)
        let error = try await #require(throws: QueueError.self) {
            try await client.send(Measure.self, .init(length: .nan))
        }
        #expect(error.isInvalidArgument)
        #expect(
            error.message
                == "the arguments of shop.measure cannot be encoded: Unable to encode Double.nan directly in JSON. "
                + "(at 'length')")
        #expect(try await broker.queueLengths().isEmpty)
    }

    @Test func aTypedSendGoesToTheTasksQueueUnlessTheSenderNamesOne() async throws {
        let broker = MemoryBroker()
        let client = QueueClient(broker: broker, backend: broker)
        try await client.send(Measure.self, .init(length: 1))
        try await client.send(Measure.self, .init(length: 2), options: .init(queue: "rush"))
        #expect(try await broker.queueLengths() == ["shop": 1, "rush": 1])
    }

    @Test func aResultReadByIdIsTyped() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let sent = try await queue.client.send(Divide.self, .init(dividend: 7, divisor: 7))
        let read = queue.client.result(sent.id, of: Divide.self)
        #expect(try await read.get(timeout: .seconds(30)) == Divide.Output(quotient: 1, remainder: 0, label: nil))
        try await queue.stop()
    }

    @Test func aTypedChainLowersToCeleryChainAndReturnsTheLastStepsOutput() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let flow = try TypedSignature(Divide.self, .init(dividend: 17, divisor: 5))
            .then(Scale.self, .init(factor: 10))
        #expect(flow.signature.subtaskType == "chain")
        #expect(flow.signature.kwargs["tasks"]?.arrayValue?.count == 2)
        let scaled: Int = try await queue.client.apply(flow).get(timeout: .seconds(30))
        #expect(scaled == 30)
        try await queue.stop()
    }

    @Test func aTypedGroupJoinsToOutputsAndATypedChordPassesThemToItsBody() async throws {
        let queue = QueueHarness(catalog: Self.catalog)
        let header = try [(9, 2), (20, 3)].map { dividend, divisor in
            try TypedSignature(Divide.self, .init(dividend: dividend, divisor: divisor))
        }
        let group = try await queue.client.group(header)
        #expect(
            try await group.join(timeout: .seconds(30)) == [
                Divide.Output(quotient: 4, remainder: 1), Divide.Output(quotient: 6, remainder: 2),
            ])
        let total: Int = try await queue.client.chord(header, body: Total.self, .init(offset: 100))
            .get(timeout: .seconds(30))
        #expect(total == 110)
        try await queue.stop()
    }

    @Test func aTypedTaskRunsInProcessThroughTheCatalog() async throws {
        #expect(
            try await Self.catalog.call("shop.divide", args: [9], kwargs: ["divisor": 4]) == [
                "quotient": 2, "remainder": 1,
            ])
    }

    @Test func twoTaskTypesUnderOneNameTrapNamingBoth() async {
        let exit = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var catalog = TaskCatalog()
            catalog.register(Divide())
            catalog.register(OtherDivide())
        }
        let stderr = String(decoding: exit?.standardErrorContent ?? [], as: UTF8.self)
        #expect(
            stderr.contains(
                "two tasks are registered as 'shop.divide': SimulQueueTests.Divide and SimulQueueTests.OtherDivide"))
    }
}
