import Synchronization

/// The browsers signed in through `/login`: each holds a random session id in its cookie, never the token itself, and
/// this table maps the id to the session's end.
///
/// A session ends ``lifetime`` after it was opened, or at `/logout`. The table holds at most ``capacity`` sessions;
/// opening one more forgets the oldest, so a client that logs in over and over cannot grow the process.
package final class SessionTable: Sendable {
    /// Twelve hours: a working day, after which the browser logs in again.
    package static let defaultLifetime = Duration.seconds(12 * 60 * 60)
    /// Sessions kept at most.
    package static let defaultCapacity = 1_000

    /// How long a session lasts after it is opened.
    package let lifetime: Duration
    /// How many sessions are kept at most.
    package let capacity: Int
    /// The time since the table was made, on its clock.
    private let elapsed: @Sendable () -> Duration
    /// Open sessions by id, each with the elapsed time at which it ends.
    private let ends = Mutex<[String: Duration]>([:])

    /// An empty table.
    /// - Parameters:
    ///   - lifetime: how long a session lasts; more than zero.
    ///   - capacity: how many sessions are kept; at least 1.
    ///   - clock: the clock that ends sessions; tests pass a manual one.
    package init<C: Clock>(
        lifetime: Duration = defaultLifetime, capacity: Int = defaultCapacity, clock: C = ContinuousClock()
    ) where C.Duration == Duration {
        precondition(lifetime > .zero, "a session's lifetime must be more than zero, got \(lifetime)")
        precondition(capacity >= 1, "a session table must hold at least one session, got \(capacity)")
        self.lifetime = lifetime
        self.capacity = capacity
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
    }

    /// Opens a session, forgetting ended ones and, when the table is full, the oldest.
    /// - Returns: its id: 32 bytes from the system's secure random source, as 64 hex digits.
    package func open() -> String {
        let id = Access.randomToken()
        let now = elapsed()
        ends.withLock { ends in
            ends = ends.filter { $0.value > now }
            while ends.count >= capacity, let oldest = ends.min(by: { $0.value < $1.value }) {
                ends[oldest.key] = nil
            }
            ends[id] = now + lifetime
        }
        return id
    }

    /// Whether `id` names a session that is open now.
    package func isOpen(_ id: String) -> Bool {
        let now = elapsed()
        return ends.withLock { ends in
            guard let end = ends[id] else { return false }
            if end <= now {
                ends[id] = nil
                return false
            }
            return true
        }
    }

    /// Ends the session `id`; nothing happens when there is none.
    package func close(_ id: String) {
        _ = ends.withLock { $0.removeValue(forKey: id) }
    }

    /// How many sessions the table holds, ended ones not yet forgotten included.
    package var count: Int { ends.withLock { $0.count } }
}
