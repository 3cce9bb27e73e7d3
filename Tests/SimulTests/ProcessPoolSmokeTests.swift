import Simul
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct ProcessPoolSmokeTests {
    @Test func runsATask() async throws {
        let pool = ProcessPool(TestTasks.configuration())
        #expect(try await pool.run(Add.self, Pair(x: 2, y: 3)) == 5)
        await pool.shutdown()
    }
}
