/// The `io` suite's Python peer, kept in the binary so `simul bench` needs no file beside it.
///
/// Arguments: repetitions, the most downloads in flight, the timeout in seconds, then the URLs. It downloads them
/// the seed's ways, `urllib` one after another and on a `ThreadPoolExecutor`, and `aiohttp` under `asyncio`, and
/// prints the best wall time of each, plus its own ideal speedup (sequential wall ÷ longest single download).
enum PythonIOScript {
    static let source = #"""
        import asyncio, json, sys, time, urllib.request
        from concurrent.futures import ThreadPoolExecutor

        import aiohttp

        REPEAT = int(sys.argv[1])
        WORKERS = int(sys.argv[2])
        TIMEOUT = float(sys.argv[3])
        URLS = sys.argv[4:]

        def emit(case, metric, value, unit):
            print(json.dumps({"case": case, "metric": metric, "value": value, "unit": unit}), flush=True)

        def fetch(url):
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                size = len(response.read())
            return size, time.perf_counter() - start

        def sequential():
            return [fetch(url) for url in URLS]

        def threads():
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                return list(pool.map(fetch, URLS))

        async def coroutines():
            limit = asyncio.Semaphore(WORKERS)
            timeout = aiohttp.ClientTimeout(total=TIMEOUT)
            connector = aiohttp.TCPConnector(limit=WORKERS)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                async def one(url):
                    async with limit:
                        start = time.perf_counter()
                        async with session.get(url) as response:
                            response.raise_for_status()
                            size = len(await response.read())
                        return size, time.perf_counter() - start
                return await asyncio.gather(*(one(url) for url in URLS))

        def best(case, body):
            best_wall, best_results = None, None
            for _ in range(REPEAT):
                start = time.perf_counter()
                results = body()
                wall = time.perf_counter() - start
                if any(size == 0 for size, _ in results):
                    raise SystemExit(f"{case}: a download came back empty")
                if best_wall is None or wall < best_wall:
                    best_wall, best_results = wall, results
            emit(case, "wall", best_wall, "s")
            return best_wall, best_results

        def main():
            wall, results = best("wikipics-sequential", sequential)
            best("wikipics-threads", threads)
            best("wikipics-async", lambda: asyncio.run(coroutines()))
            emit("wikipics-ideal-speedup", "speedup", wall / max(seconds for _, seconds in results), "x")

        if __name__ == "__main__":
            main()
        """#
}
