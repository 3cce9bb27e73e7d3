/// The Celery peer of the Redis queue cases: a Celery 5.7 app and the script that measures it.
enum PythonCeleryScript {
    /// The app the Celery worker and producer load, from the bench's scratch directory.
    static let app = #"""
        import os, time
        from celery import Celery

        app = Celery("benchapp", broker=os.environ["BENCH_REDIS"], backend=os.environ["BENCH_REDIS"])
        app.conf.worker_hijack_root_logger = False

        @app.task(name="benchapp.noop")
        def noop():
            return None

        @app.task(name="benchapp.stamp")
        def stamp():
            return time.time()
        """#

    /// Arguments: the app's directory, the Redis URL, the task count, the latency samples.
    static let bench = #"""
        import json, os, signal, subprocess, sys, time

        directory, url, count, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        os.environ["BENCH_REDIS"] = url
        sys.path.insert(0, directory)
        import redis
        from benchapp import app, noop, stamp

        def emit(case, metric, value, unit):
            print(json.dumps({"case": case, "metric": metric, "value": value, "unit": unit}), flush=True)

        client = redis.Redis.from_url(url)
        client.flushdb()
        warmup = 200
        start = time.perf_counter()
        for _ in range(count):
            noop.delay()
        emit("queue-redis-enqueue", "throughput", count / (time.perf_counter() - start), "tasks/s")
        for _ in range(warmup):
            noop.delay()

        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "benchapp", "worker", "-P", "prefork", "-c", "2", "-Q", "celery",
             "--without-gossip", "--without-mingle", "-l", "warning"],
            cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            def stored():
                return sum(1 for _ in client.scan_iter("celery-task-meta-*", count=1000))
            deadline = time.time() + 600
            while client.llen("celery") > count and time.time() < deadline:
                time.sleep(0.005)
            begin, begun = time.perf_counter(), stored()
            while stored() < count + warmup and time.time() < deadline:
                time.sleep(0.05)
            done = stored() - begun
            emit("queue-redis-drain", "throughput", done / (time.perf_counter() - begin), "tasks/s")

            latencies = []
            for _ in range(samples):
                sent = time.time()
                started = stamp.delay().get(timeout=30)
                latencies.append((started - sent) * 1000)
            latencies.sort()
            emit("queue-redis-latency-p50", "latency", latencies[len(latencies) // 2], "ms")
            emit("queue-redis-latency-p99", "latency", latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)], "ms")
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        """#
}
