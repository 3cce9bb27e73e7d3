public import Foundation
public import Logging
public import ServiceLifecycle
public import SimulJSON

/// Sends periodic tasks: `simul beat`.
///
/// Each entry's slots are absolute times (see ``Schedule``). The beat claims `"<entry>@<slot>"` and sends the slot's
/// message in one write (a ``SlotClaiming`` broker's), so with two beats running each slot is sent once, and a beat
/// that dies cannot leave a slot claimed and unsent.
///
/// ```swift
/// let beat = Beat(entries: [BeatEntry(name: "tick", task: "simul.noop", schedule: .every(seconds: 10))],
///                 client: client, claims: broker)
/// try await beat.run()
/// ```
public final class Beat: Service, Sendable {
    private let entries: [BeatEntry]
    private let client: QueueClient
    private let claims: any SlotClaiming
    private let logger: Logger
    private let clock: any QueueClock
    private let start: Date

    /// Creates a beat.
    /// - Parameters:
    ///   - entries: what to send, and when.
    ///   - client: how to make its messages: routes, and the clock countdowns count from.
    ///   - claims: the broker that claims each slot and sends its message, in one write: the one the other beats
    ///     share.
    ///   - logger: where sends are reported.
    ///   - clock: the time slots come due on.
    ///   - start: slots after this time are sent; the clock's now by default.
    public init(
        entries: [BeatEntry], client: QueueClient, claims: any SlotClaiming,
        logger: Logger = Logger(label: "simul.beat"), clock: any QueueClock = .system, start: Date? = nil
    ) {
        self.entries = entries
        self.client = client
        self.claims = claims
        self.logger = logger
        self.clock = clock
        self.start = start ?? clock.now
    }

    /// Sends every slot as it comes, until the task is cancelled or, in a `ServiceGroup`, the group shuts down
    /// gracefully; then it returns.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.send() }
        } catch is CancellationError {
            return
        }
    }

    private func send() async throws {
        var last = start
        while !Task.isCancelled {
            let next = entries.map { $0.schedule.nextSlot(after: last) }.min() ?? .distantFuture
            // At most an hour at a time, so a wall clock set forward is noticed within the hour.
            try await clock.sleep(until: min(next, clock.now.addingTimeInterval(3_600)))
            let now = clock.now
            guard now >= next else { continue }
            try await tick(from: last, to: now)
            last = now
        }
    }

    /// Sends the slots in `(from, to]` that no other beat has sent.
    /// - Returns: how many this beat sent.
    @discardableResult
    public func tick(from: Date, to: Date) async throws -> Int {
        var sent = 0
        for entry in entries {
            var slot = entry.schedule.nextSlot(after: from)
            while slot <= to {
                let key = "\(entry.name)@\(ISODate.format(slot))"
                let message = try client.message(
                    for: Signature(
                        entry.task, args: entry.args, kwargs: entry.kwargs, options: entry.options.signatureOptions))
                if try await claims.claim(key, sending: OutgoingMessage(message)) {
                    logger.info("sent \(entry.task) for \(key)")
                    sent += 1
                }
                slot = entry.schedule.nextSlot(after: slot)
            }
        }
        return sent
    }
}

/// One periodic task.
public struct BeatEntry: Sendable {
    /// The entry's name, part of its slots' claim keys.
    public var name: String
    /// The task to send.
    public var task: String
    /// Its positional arguments.
    public var args: [JSONValue]
    /// Its keyword arguments.
    public var kwargs: [String: JSONValue]
    /// When.
    public var schedule: Schedule
    /// Queue, priority and the rest.
    public var options: SendOptions

    /// Creates an entry.
    public init(
        name: String, task: String, args: [JSONValue] = [], kwargs: [String: JSONValue] = [:], schedule: Schedule,
        options: SendOptions = .init()
    ) {
        self.name = name
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.schedule = schedule
        self.options = options
    }
}
