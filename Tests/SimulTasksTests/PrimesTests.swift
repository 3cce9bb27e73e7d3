import SimulTasks
import Testing

@Suite struct PrimesTests {
    @Test(
        arguments: [
            (2, 2), (3, 3), (4, 2), (9, 3), (25, 5), (35, 5), (49, 7), (77, 7), (121, 11), (143, 11), (97, 97),
            (1_800_001_250_000_147, 20_000_003), (3_500_000_021_500_000_003, 500_000_003),
        ] as [(UInt64, UInt64)])
    func leastPrimeFactor(n: UInt64, expected: UInt64) {
        #expect(Primes.leastPrimeFactor(n) == expected)
    }

    @Test func rangesCoverEveryCandidate() {
        // 5·7·11·13 = 5005: each piece of a split range finds the factor that lies in it.
        #expect(Primes.leastFactor(of: 11 * 13, from: 6, through: 12) == 11)
        #expect(Primes.leastFactor(of: 13 * 17, from: 12, through: 14) == 13)
        #expect(Primes.leastFactor(of: 13 * 17, from: 14, through: 16) == nil)
    }

    @Test(arguments: [0, 1, 3, 4, 15, 16, 24, 25, UInt64.max, UInt64(UInt32.max) * UInt64(UInt32.max)])
    func squareRootIsExact(n: UInt64) {
        let root = Primes.squareRoot(n)
        #expect(root.multipliedReportingOverflow(by: root).partialValue <= n)
        let next = (root + 1).multipliedReportingOverflow(by: root + 1)
        #expect(next.overflow || next.partialValue > n)
    }
}
