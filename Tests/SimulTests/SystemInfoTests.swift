import Testing

@testable import Simul

@Suite struct SystemInfoTests {
    @Test(
        arguments: [
            ("max 100000", nil), ("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("-1 100000", nil),
            ("garbage", nil),
        ] as [(String, Int?)])
    func parsesCgroupQuota(text: String, expected: Int?) {
        #expect(SystemInfo.parseCPUMax(text) == expected)
    }

    @Test func availableCPUsIsPositive() {
        #expect(SystemInfo.availableCPUs >= 1)
    }
}
