import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Simul
package import SimulTasks

#if canImport(Glibc)
    import Glibc
#endif

/// One picture to download.
package struct PictureSource: Sendable, Hashable {
    /// The name the gallery shows, such as `Ada_Lovelace.png`.
    package var name: String
    /// Where it is.
    package var url: String

    /// Creates a source.
    package init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// What one download gave.
package struct DownloadOutcome: Sendable {
    /// The picture's name.
    package var name: String
    /// How many bytes arrived; 0 for a failure.
    package var byteCount: Int
    /// The bytes, when the downloader was asked to keep them.
    package var data: [UInt8]?
    /// Why it failed, if it did.
    package var failure: DownloadError?
    /// When it started.
    package var start: ContinuousClock.Instant
    /// How long it took.
    package var seconds: Double
    /// The CPU time of the thread that downloaded it, for the blocking models; the async model's downloads share
    /// the event loops' threads, so theirs is not measured.
    package var cpuSeconds: Double?
}

/// The three ways the demo downloads: one after another, on a pool of threads, and as async tasks.
package enum DownloadModel: String, CaseIterable, Sendable {
    case sequential, threads, async
}

/// Downloads a list of pictures under one ``DownloadModel``, telling the caller as each one lands.
///
/// A failed download is a failed outcome, never a thrown error, so the others go on; only cancellation throws.
package struct PictureDownloader: Sendable {
    /// The most downloads in flight under the threads and async models.
    ///
    /// A download spends its time waiting, so it needs a thread (or a task) of its own while it waits: with fewer,
    /// the downloads come in rounds. Python's default `ThreadPoolExecutor` has `min(32, cpus + 4)` threads, only 6
    /// on two CPUs, which would make 10 downloads take two rounds; a thread per picture, up to this cap, lets all
    /// of them wait at once. The async model gets the same bound, so the two differ only in how they wait.
    package static let maxConcurrency = 64

    /// The most one download may take, connection and body included.
    package var timeout: Duration
    /// Keep the downloaded bytes in the outcomes (for the HTML gallery); otherwise only their count.
    package var keepData: Bool

    /// Creates a downloader.
    package init(timeout: Duration, keepData: Bool = false) {
        self.timeout = timeout
        self.keepData = keepData
    }

    /// Downloads every source under `model`.
    /// - Parameters:
    ///   - model: how.
    ///   - sources: what.
    ///   - landed: called with a source's index and outcome as soon as it is done, from any thread.
    /// - Returns: the outcomes, in the order of `sources`.
    /// - Throws: `CancellationError` if the calling task is cancelled.
    package func run(
        _ model: DownloadModel,
        _ sources: [PictureSource],
        landed: @escaping @Sendable (Int, DownloadOutcome) -> Void = { _, _ in }
    ) async throws -> [DownloadOutcome] {
        guard !sources.isEmpty else { return [] }
        let concurrency = min(sources.count, Self.maxConcurrency)
        switch model {
        case .sequential:
            // One thread, one download at a time. It is a thread of its own rather than the caller's because the
            // downloads block, and blocking a thread of Swift's small cooperative pool would stall other tasks.
            let thread = ThreadPool(maxWorkers: 1, namePrefix: "wikipics-sequential")
            let outcomes = try await thread.run {
                sources.enumerated().map { index, source in
                    let outcome = blockingDownload(source)
                    landed(index, outcome)
                    return outcome
                }
            }
            await thread.shutdown()
            return outcomes
        case .threads:
            let pool = ThreadPool(maxWorkers: concurrency, namePrefix: "wikipics")
            let futures = sources.enumerated().map { index, source in
                pool.submit {
                    let outcome = blockingDownload(source)
                    landed(index, outcome)
                    return outcome
                }
            }
            var outcomes: [DownloadOutcome] = []
            do {
                for future in futures { outcomes.append(try await future.value) }
            } catch {
                await pool.shutdown(cancelPending: true)
                throw error
            }
            await pool.shutdown()
            return outcomes
        case .async:
            var configuration = HTTPClient.Configuration()
            // AsyncHTTPClient opens at most 8 connections to a host by default; the rest would queue.
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency
            )
            // By default a failed connection is retried with backoff until the connect timeout (10 s), so a refused
            // URL would stall its row; urllib, aiohttp and our blocking client fail at once, and so does this.
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            let outcomes: [DownloadOutcome]
            do {
                outcomes = try await Array(sources.enumerated()).concurrentMap(maxConcurrency: concurrency) {
                    index, source in
                    let outcome = await asyncDownload(source, client: client)
                    landed(index, outcome)
                    return outcome
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            return outcomes
        }
    }

    private func blockingDownload(_ source: PictureSource) -> DownloadOutcome {
        let start = ContinuousClock.now
        let cpuStart = Self.threadCPUSeconds()
        var outcome: DownloadOutcome
        do {
            let bytes = try BlockingHTTP.get(source.url, timeout: timeout)
            outcome = self.outcome(source, .success(bytes), since: start)
        } catch {
            outcome = self.outcome(source, .failure(Self.downloadError(error, timeout: timeout)), since: start)
        }
        outcome.cpuSeconds = Self.threadCPUSeconds() - cpuStart
        return outcome
    }

    /// The CPU time the calling thread has used, user and system.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// `execute` with a deadline only bounds the wait for the response head; `withTimeout` around it and the body
    /// bounds the whole download.
    private func asyncDownload(_ source: PictureSource, client: HTTPClient) async -> DownloadOutcome {
        let start = ContinuousClock.now
        let timeout = timeout
        do {
            _ = try BlockingHTTP.validated(source.url)  // the same words as the blocking models for a bad URL
            let bytes = try await withTimeout(timeout) {
                let response = try await client.execute(
                    HTTPClientRequest(url: source.url), timeout: TimeAmount(timeout))
                let body = try await response.body.collect(upTo: 1 << 30)
                guard (200..<300).contains(Int(response.status.code)) else {
                    throw DownloadError.status(Int(response.status.code))
                }
                return Array(body.readableBytesView)
            }
            return outcome(source, .success(bytes), since: start)
        } catch {
            return outcome(source, .failure(Self.downloadError(error, timeout: timeout)), since: start)
        }
    }

    private func outcome(
        _ source: PictureSource, _ result: Result<[UInt8], DownloadError>, since start: ContinuousClock.Instant
    ) -> DownloadOutcome {
        let seconds = (ContinuousClock.now - start).seconds
        switch result {
        case .success(let bytes):
            return DownloadOutcome(
                name: source.name, byteCount: bytes.count, data: keepData ? bytes : nil, failure: nil, start: start,
                seconds: seconds)
        case .failure(let failure):
            return DownloadOutcome(
                name: source.name, byteCount: 0, data: nil, failure: failure, start: start, seconds: seconds)
        }
    }

    /// The same words for the same failure, whichever client met it.
    static func downloadError(_ error: any Error, timeout: Duration) -> DownloadError {
        switch error {
        case let error as DownloadError:
            return error
        case is TimeoutError:
            return .timedOut(timeout)
        case let error as IOError:
            return BlockingHTTP.systemError(error.errnoCode, timeout: timeout)
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return downloadError(first.error, timeout: timeout) }
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return .connection("cannot resolve \(error.host): \(dns)")
            }
            return .connection("cannot connect to \(error.host):\(error.port)")
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout, .deadlineExceeded, .readTimeout, .writeTimeout: return .timedOut(timeout)
            case .remoteConnectionClosed: return .connection("the server closed the connection")
            case .invalidURL, .emptyHost, .emptyScheme: return .invalidURL(String(describing: error))
            default: return .connection(String(describing: error))
            }
        default:
            return .connection(String(describing: error))
        }
    }
}
