/// Trial division, as the seeds' primes example does it, with a 6k±1 wheel: after 2 and 3, every prime is one
/// more or one less than a multiple of 6, so a third of the odd divisors are skipped.
public enum Primes {
    /// The least prime factor of `n` (which is `n` itself when `n` is prime).
    /// - Parameter n: a number of at least 2.
    public static func leastPrimeFactor(_ n: UInt64) -> UInt64 {
        precondition(n >= 2, "least prime factor needs n >= 2")
        if n % 2 == 0 { return 2 }
        if n % 3 == 0 { return 3 }
        return leastFactor(of: n, from: 5, through: squareRoot(n)) ?? n
    }

    /// The least divisor of `n` among the 6k±1 candidates in `start...end`, or nil.
    ///
    /// Splitting one number's range into pieces lets several workers search it at once.
    /// - Parameters:
    ///   - n: the number to factor.
    ///   - start: the first candidate to try.
    ///   - end: the last candidate.
    public static func leastFactor(of n: UInt64, from start: UInt64, through end: UInt64) -> UInt64? {
        let first = max(5, start)
        var candidate = (first + 1) / 6 * 6 - 1  // the 6k-1 at or just below `first`
        for divisor in [candidate, candidate + 2] where divisor >= first && divisor <= end {
            if n % divisor == 0 { return divisor }
        }
        candidate += 6
        while candidate <= end {
            if n % candidate == 0 { return candidate }
            let next = candidate + 2
            if next <= end, n % next == 0 { return next }
            candidate += 6
        }
        return nil
    }

    /// ⌊√n⌋, exactly.
    public static func squareRoot(_ n: UInt64) -> UInt64 {
        var root = UInt64(Double(n).squareRoot())
        while root > 0,
            root.multipliedReportingOverflow(by: root).partialValue > n
                || root.multipliedReportingOverflow(by: root).overflow
        {
            root -= 1
        }
        while (root + 1).multipliedReportingOverflow(by: root + 1).overflow == false, (root + 1) * (root + 1) <= n {
            root += 1
        }
        return root
    }
}
