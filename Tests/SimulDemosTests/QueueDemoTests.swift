import SimulDemos
import SimulJSON
import Testing

@Suite(.timeLimit(.minutes(2))) struct QueueDemoTests {
    @Test func handsTasksToAWorkerProcessAndRunsTheChain() async throws {
        let report = try await QueueDemo().run(in: quietContext())
        #expect(report.runs.map(\.model) == ["sequential", "queue", "chain"])
        #expect(report.run("queue")?.results == [0.2, 0.2, 0.2, 0.2])
        #expect(report.summary["chain_result"] == 35)
        let handedOver = try #require(report.summary["handed_over_s"]?.doubleValue)
        let wall = try #require(report.run("queue")?.wall_s)
        #expect(handedOver < wall)
        let tasks = ["task 1", "task 2", "task 3", "task 4"]
        #expect(report.run("sequential")?.spans?.map(\.label) == tasks)
        #expect(report.run("sequential")?.spans?.map(\.lane) == ["main", "main", "main", "main"])
        // Each task from when it was sent to when its result was in, on its own lane.
        let queued = try #require(report.run("queue")?.spans)
        #expect(queued.map(\.lane) == tasks)
        #expect(queued.allSatisfy { $0.end_s - $0.start_s >= 0.2 && $0.end_s <= wall })
        #expect(report.run("chain")?.spans?.map(\.label) == ["add(1, 2) | mul(10) | add(5)"])
    }
}
