/// The seed's sample of large numbers and their least prime factors (seed 003, "Demonstração: números primos").
public enum PrimeSample {
    /// The eight numbers, in the seed's order.
    public static let numbers: [UInt64] = [
        72_057_596_722_278_677, 36_028_797_018_963_968, 54_043_195_528_445_869, 72_057_594_037_927_931,
        18_014_399_314_786_597, 27_021_597_764_222_939, 54_043_195_528_445_952, 144_115_189_976_253_901,
    ]

    /// The least prime factor of each number, as the seed's table gives it (a prime is its own least factor).
    public static let leastPrimeFactors: [UInt64: UInt64] = [
        72_057_596_722_278_677: 268_435_399,
        36_028_797_018_963_968: 2,
        54_043_195_528_445_869: 54_043_195_528_445_869,
        72_057_594_037_927_931: 72_057_594_037_927_931,
        18_014_399_314_786_597: 134_217_689,
        27_021_597_764_222_939: 27_021_597_764_222_939,
        54_043_195_528_445_952: 2,
        144_115_189_976_253_901: 379_625_047,
    ]

    /// A smaller sample of the same shape for `--quick` (a product of two primes near its square root, an even
    /// number, two primes, …), about 4,000 times less work than the seed's.
    public static let quickNumbers: [UInt64] = [
        17_596_380_345_407, 8_796_093_022_208, 13_194_139_533_299, 17_592_186_044_399,
        4_400_126_876_879, 6_597_069_766_631, 13_194_139_533_568, 35_188_721_578_951,
    ]

    /// The numbers for a run.
    public static func numbers(quick: Bool) -> [UInt64] { quick ? quickNumbers : numbers }

    /// `n` with digits grouped by underscores, as the seed prints it: `72_057_596_722_278_677`.
    public static func grouped(_ n: UInt64) -> String {
        var digits = Array(String(n))
        var index = digits.count - 3
        while index > 0 {
            digits.insert("_", at: index)
            index -= 3
        }
        return String(digits)
    }
}
