/// The Python peers' sources, kept in the binary so `simul bench` needs no file beside it.
enum PythonScripts {
    /// The seed's primes demo (seed 003): least prime factors by trial division over odd numbers, sequential, with
    /// ThreadPoolExecutor and with ProcessPoolExecutor (`submit` + `as_completed`); the numbers are the arguments.
    static let primes = #"""
        import json, math, sys, time
        from concurrent import futures

        def least_prime_factor(n):
            if n % 2 == 0:
                return 2
            for i in range(3, math.isqrt(n) + 1, 2):
                if n % i == 0:
                    return i
            return n

        def lpf_pair(n):
            return n, least_prime_factor(n)

        def emit(case, seconds):
            print(json.dumps({"case": case, "metric": "wall", "value": seconds, "unit": "s"}), flush=True)

        def timed_pool(executor_class, sample):
            start = time.perf_counter()
            with executor_class() as pool:
                tasks = [pool.submit(lpf_pair, n) for n in sample]
                for future in futures.as_completed(tasks):
                    future.result()
            return time.perf_counter() - start

        if __name__ == "__main__":
            sample = [int(arg) for arg in sys.argv[1:]]
            start = time.perf_counter()
            for n in sample:
                least_prime_factor(n)
            emit("primes-sequential", time.perf_counter() - start)
            emit("primes-threads", timed_pool(futures.ThreadPoolExecutor, sample))
            emit("primes-processes", timed_pool(futures.ProcessPoolExecutor, sample))
        """#

    /// The `executors` cases with `concurrent.futures` and `asyncio`; argument 1 is the scale divisor.
    static let executors = #"""
        import asyncio, json, sys, time
        from concurrent.futures import ThreadPoolExecutor, ProcessPoolExecutor

        SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1
        REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 3

        def noop(x=None):
            return x

        def square(x):
            return x * x

        def emit(case, metric, value, unit):
            print(json.dumps({"case": case, "metric": metric, "value": value, "unit": unit}), flush=True)

        def best_rate(count, body):
            best = 0.0
            for _ in range(REPEAT):
                start = time.perf_counter()
                body()
                best = max(best, count / (time.perf_counter() - start))
            return best

        def main():
            n = 100_000 // SCALE
            with ThreadPoolExecutor() as ex:
                def submit():
                    for f in [ex.submit(noop) for _ in range(n)]:
                        f.result()
                emit("threadpool-submit", "throughput", best_rate(n, submit), "ops/s")

            n = 20_000 // SCALE
            m = 2_000_000 // SCALE
            with ProcessPoolExecutor() as ex:
                ex.submit(noop, 0).result()
                def submit():
                    for f in [ex.submit(noop, i) for i in range(n)]:
                        f.result()
                emit("processpool-submit", "throughput", best_rate(n, submit), "ops/s")
                def mapped():
                    total = 0
                    for v in ex.map(square, range(m), chunksize=1000):
                        total += v
                emit("processpool-map", "throughput", best_rate(m, mapped), "ops/s")

            n = 100_000 // SCALE
            async def one():
                return 1
            async def gather():
                await asyncio.gather(*[one() for _ in range(n)])
            emit("async-gather", "throughput", best_rate(n, lambda: asyncio.run(gather())), "ops/s")

            n = 100_000 // SCALE
            async def sleeps():
                await asyncio.gather(*[asyncio.sleep(1) for _ in range(n)])
            best = None
            for _ in range(REPEAT):
                start = time.perf_counter()
                asyncio.run(sleeps())
                wall = time.perf_counter() - start
                best = wall if best is None else min(best, wall)
            emit("async-sleep-100k", "wall", best, "s")

        if __name__ == "__main__":
            main()
        """#
}

extension ExecutorsBenchmark {
    /// Runs the same cases in Python: `concurrent.futures` for the pools, `asyncio` for the rest.
    public func runPython(python: String = PythonPeer.defaultInterpreter) throws -> [BenchResult] {
        let peer = PythonPeer(implementation: "python-concurrent.futures", python: python)
        return try peer.run(
            PythonScripts.executors, suite: "executors", arguments: [quick ? "10" : "1", "\(repetitions)"]
        ) { $0.hasPrefix("async-") ? "python-asyncio" : nil }
    }
}
