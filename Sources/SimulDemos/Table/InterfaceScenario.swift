import Foundation
import Simul
import SimulJSON
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Row 4, "GUI responsiva": a 60 Hz frame loop on its own thread (the UI thread) starts a CPU-heavy job at its
/// third frame and keeps drawing until the job is done. The models differ in where the job runs; the figure is how
/// late the frames were.
struct InterfaceScenario: Scenario {
    let key = "gui"
    let title = Phrase("Responsive GUI", "GUI responsiva")
    let advice = SeedAdvice([.threads], Phrase("don't block the interface", "não bloquear interface"))
    let ranking = Ranking.tickLateness

    func bound(quick: Bool) -> UInt64 { quick ? 1_200_000 : 7_000_000 }

    var workload: Phrase {
        Phrase(
            "a 60 Hz frame loop starts a job (primes below \(bound(quick: false))) and keeps drawing; figure: p99 "
                + "frame lateness",
            "um laço de 60 Hz inicia uma tarefa (primos abaixo de \(bound(quick: false))) e continua desenhando; "
                + "medida: atraso p99 dos quadros")
    }

    func prepare(_ settings: TableSettings) async throws -> any ScenarioFixture {
        Fixture(ranges: PrimeTally.ranges(below: bound(quick: settings.quick), pieces: 32), settings: settings)
    }

    func note(_ verdict: Verdict, figures: [Model: Double]) -> Phrase {
        guard let frozen = figures[.sequential], frozen >= Ranking.frame else {
            return Phrase("the job is too short to freeze anything", "a tarefa é curta demais para travar algo")
        }
        let time = Duration.seconds(frozen).timeDescription
        return Phrase(
            "work on the UI thread froze it \(time); any model off it keeps 60 Hz",
            "trabalho na thread da UI a travou \(time); qualquer modelo fora dela mantém 60 Hz")
    }

    struct Fixture: ScenarioFixture {
        let ranges: [Range<UInt64>]
        let settings: TableSettings

        func run(_ model: Model) async throws -> Outcome {
            let ranges = ranges
            let completion = Completion(parts: ranges.count)
            let frames: FrameLoop.Result
            switch model {
            case .sequential:
                frames = await FrameLoop.run(finished: { completion.finished }) {
                    for range in ranges { completion.add(.success(PrimeTally(range))) }
                }
            case .threads:
                frames = try await Pools.withThreads(settings.cpuThreads) { pool in
                    await FrameLoop.run(finished: { completion.finished }) {
                        for range in ranges {
                            pool.submit { PrimeTally(range) }.onCompletion { completion.add($0) }
                        }
                    }
                }
            case .processes:
                frames = try await Pools.withProcesses(settings.processes) { pool in
                    await FrameLoop.run(finished: { completion.finished }) {
                        for range in ranges {
                            pool.submit(CountPrimes.self, [range.lowerBound, range.upperBound]).onCompletion {
                                completion.add($0.map { PrimeTally(count: $0[0], sum: $0[1]) })
                            }
                        }
                    }
                }
            case .async:
                frames = await FrameLoop.run(finished: { completion.finished }) {
                    Task.detached {
                        await withTaskGroup(of: PrimeTally.self) { group in
                            for range in ranges { group.addTask { PrimeTally(range) } }
                            for await tally in group { completion.add(.success(tally)) }
                        }
                    }
                }
            }
            let total = try await completion.value()
            let lateness = Lateness(samples: frames.lateness)
            return Outcome(
                check: "primes=\(total.count) sum=\(total.sum)",
                details: ["primes": .unsigned(total.count)],
                lateness: lateness)
        }

        func tearDown() async throws {}

        /// The job's parts as they finish, from any thread, and when the last one did.
        final class Completion: Sendable {
            private struct State {
                var remaining: Int
                var total = PrimeTally(count: 0, sum: 0)
                var error: (any Error)?
                var finished: UInt64?
                var waiter: CheckedContinuation<PrimeTally, any Error>?
            }

            private let state: Mutex<State>

            init(parts: Int) {
                state = Mutex(State(remaining: parts))
            }

            func add(_ part: Result<PrimeTally, any Error>) {
                let resume = state.withLock { state -> (CheckedContinuation<PrimeTally, any Error>, State)? in
                    switch part {
                    case .success(let tally): state.total = state.total + tally
                    case .failure(let error): state.error = state.error ?? error
                    }
                    state.remaining -= 1
                    guard state.remaining == 0 else { return nil }
                    state.finished = FrameLoop.now()
                    defer { state.waiter = nil }
                    return state.waiter.map { ($0, state) }
                }
                if let (waiter, state) = resume { Self.resume(waiter, state) }
            }

            /// When the last part finished, in ``FrameLoop/now()`` nanoseconds; nil while running.
            var finished: UInt64? { state.withLock { $0.finished } }

            func value() async throws -> PrimeTally {
                try await withCheckedThrowingContinuation { waiter in
                    let done = state.withLock { state -> State? in
                        if state.remaining == 0 { return state }
                        state.waiter = waiter
                        return nil
                    }
                    if let done { Self.resume(waiter, done) }
                }
            }

            private static func resume(_ waiter: CheckedContinuation<PrimeTally, any Error>, _ state: State) {
                if let error = state.error {
                    waiter.resume(throwing: error)
                } else {
                    waiter.resume(returning: state.total)
                }
            }
        }

        /// The UI thread: frames every 1/60 s, on a monotonic clock.
        enum FrameLoop {
            struct Result: Sendable {
                var lateness: [Double]
            }

            static let period: UInt64 = 1_000_000_000 / 60

            static func now() -> UInt64 {
                var time = timespec()
                clock_gettime(CLOCK_MONOTONIC, &time)
                return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
            }

            /// Runs frames on a new thread, calls `start` at the third, and stops once the job has `finished` and
            /// every frame due while it ran was drawn: frames missed during a freeze count, each as late as it was.
            static func run(
                finished: @escaping @Sendable () -> UInt64?, _ start: @escaping @Sendable () -> Void
            ) async -> Result {
                await withCheckedContinuation { continuation in
                    let thread = Thread { continuation.resume(returning: loop(start, finished: finished)) }
                    thread.name = "simul-ui"
                    thread.start()
                }
            }

            /// Sleeps until `deadline` on the monotonic clock.
            private static func sleep(until deadline: UInt64) {
                #if os(Linux)
                    var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
                #else
                    while case let current = now(), current < deadline { usleep(UInt32((deadline - current) / 1000)) }
                #endif
            }

            private static func loop(_ start: () -> Void, finished: () -> UInt64?) -> Result {
                var lateness: [Double] = []
                var frame = [UInt8](repeating: 0, count: 16 * 1024)
                var deadline = now() + period
                var number = 0
                while true {
                    sleep(until: deadline)
                    let woke = now()
                    lateness.append(Double(woke - min(woke, deadline)) / 1e9)
                    number += 1
                    // Draw: a little work on the frame buffer, as a repaint would.
                    frame[number % frame.count] &+= 1
                    _ = CRC32(frame)
                    if number == 3 { start() }
                    deadline += period
                    if number > 3, let finished = finished(), deadline > finished { break }
                }
                return Result(lateness: lateness)
            }
        }
    }
}
