import Foundation
import Simul
import Testing

@Suite struct TimingTests {
    @Test(
        arguments: [
            (16.4, "16.4 s"), (1.0, "1 s"), (0.994, "994 ms"), (0.5, "500 ms"), (0.000_732, "732 µs"), (0.005, "5 ms"),
            (12.5e-6, "12.5 µs"), (3e-9, "3 ns"), (0, "0 ns"), (65, "1min 5s"), (3_725, "1h 2min 5s"),
        ] as [(Double, String)])
    func formatsLikeIPython(seconds: Double, expected: String) {
        #expect(Duration.nanoseconds(Int64((seconds * 1e9).rounded())).timeDescription == expected)
    }

    @Test func printsTheTwoLinesOfPercentTime() {
        let times = CPUTimes(user: .milliseconds(732), system: .milliseconds(262), wall: .milliseconds(16_400))
        #expect(times.description == "CPU times: user 732 ms, sys: 262 ms, total: 994 ms\nWall time: 16.4 s")
    }

    @Test func countsThisProcessesCPU() {
        let (sum, times) = timed { (0..<3_000_000).reduce(0, &+) }
        #expect(sum > 0)
        #expect(times.user + times.system > .zero)
        #expect(times.childUser == .zero || times.childUser > .zero)
        #expect(times.wall > .zero)
    }

    @Test func countsReapedChildProcesses() async throws {
        let (_, times) = try await timed {
            let child = try Process.run(
                URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            child.waitUntilExit()
        }
        #expect(times.childUser + times.childSystem > .zero)
    }
}
