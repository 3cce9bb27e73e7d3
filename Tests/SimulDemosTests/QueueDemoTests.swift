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
    }
}
