import Foundation
import GRDB
public import Logging
public import SimulJSON
public import SimulQueue
import Simul
import Synchronization

/// The embedded default: a broker and result backend in one SQLite file that every process on the machine shares.
///
/// The file is in WAL mode with `synchronous=FULL`, so a send is on disk when it returns and survives a power cut,
/// not just a crash. Workers in several processes take messages from it at once: each receive is one immediate
/// transaction that leases a batch (`visible_at` moves past the lease), so two workers never hold the same message,
/// and a message whose worker died becomes visible again when its lease runs out.
///
/// SQLite cannot wake another process, so an idle ``receive(from:limit:lease:timeout:)`` checks again after 1 ms,
/// doubling up to 50 ms; a busy worker never waits.
public final class SQLiteBroker: ResultCommitting, RevocationStore, DeadLetterStore, EventFeed, SlotClaiming,
    QueueAdministration
{
    public var transport: String { "sqlite" }

    private let pool: DatabasePool
    /// Concurrent writes (senders, a worker's receive and its acknowledgements) share one transaction. With
    /// `synchronous=FULL` every transaction costs a sync of the WAL, so this multiplies throughput without weakening
    /// durability: no caller returns before its write is on disk.
    private let commits = GroupCommit<@Sendable (Database) throws -> Void, Void>()
    private let resultExpiry: Double
    private let revocationLimits: RevokedSet.Limits
    private let messagesChanged = ChangeSignal()
    private let resultsChanged = ChangeSignal()
    private let deadLetterLimits: DeadLetterLimits
    private let logger: Logger
    private let path: String
    /// The device and inode of the file opened, and when ``receive(from:limit:lease:timeout:)`` last compared them
    /// with the path's.
    private let identity: FileIdentity?
    private let lastIdentityCheck: Mutex<Date>
    private let clock: any QueueClock

    /// Opens (and creates, if needed) the broker file at `path`.
    /// - Parameters:
    ///   - path: the file; its directory is created if missing.
    ///   - resultExpiry: seconds a result is kept; one day by default, as in Celery.
    ///   - deadLetterLimits: how much of its dead letters it keeps.
    ///   - revocationLimits: how many revocations are kept, and for how long; Celery's by default.
    ///   - logger: where it reports dropped dead letters.
    ///   - clock: the time of ETAs, leases, expiries and waits.
    /// - Throws: ``QueueError`` when the directory or the file cannot be created or opened.
    public init(
        path: String, resultExpiry: Double = 86_400, deadLetterLimits: DeadLetterLimits = .init(),
        revocationLimits: RevokedSet.Limits = .celery, logger: Logger = Logger(label: "simul.sqlite"),
        clock: any QueueClock = .system
    ) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if let failure = Self.makeDirectories(directory) {
            throw QueueError.storage("cannot create the directory '\(directory)' for the SQLite broker: \(failure)")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "simul.sqlite"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try Self.open(path, configuration, now: clock.now.timeIntervalSince1970)
        } catch {
            throw QueueError.storage("cannot open the SQLite broker '\(path)': \(Self.reason(error))")
        }
        self.resultExpiry = resultExpiry
        self.deadLetterLimits = deadLetterLimits
        self.logger = logger
        self.path = path
        identity = FileIdentity(path)
        self.revocationLimits = revocationLimits
        self.clock = clock
        lastIdentityCheck = Mutex(clock.now)
    }

    /// Opens the pool and creates the tables.
    ///
    /// Opening is where SQLite's busy timeout does not always apply: switching a new file to WAL, recovering a WAL
    /// whose last user crashed, or racing the last connection while it closes (and cleans up under an exclusive lock)
    /// can answer SQLITE_BUSY at once (see "Sometimes Queries Return SQLITE_BUSY In WAL Mode" in
    /// https://www.sqlite.org/wal.html). Processes that start together, as a worker and a client do, meet it; so a
    /// busy open is tried again, for up to about ten seconds.
    private static func open(_ path: String, _ configuration: Configuration, now: Double) throws -> DatabasePool {
        var pause = 0.005
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                // Immediate: it takes the write lock before reading the schema, waiting for it like any write. A
                // deferred transaction reads first and, if another process creating the file commits meanwhile,
                // cannot upgrade to a write and fails at once.
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try migrate(db, now: now)
                        return .commit
                    }
                }
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.2)
            }
        }
    }

    /// Creates the tables, and brings a file made by an earlier version up to date; `now` is when its waiting
    /// messages are taken to have been queued, as it never stored that.
    private static func migrate(_ db: Database, now: Double) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS messages (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    tag TEXT NOT NULL UNIQUE,
                    task_id TEXT NOT NULL,
                    queue TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    visible_at REAL NOT NULL,
                    leased INTEGER NOT NULL DEFAULT 0,
                    deliveries INTEGER NOT NULL DEFAULT 0,
                    lapses INTEGER NOT NULL DEFAULT 0,
                    body BLOB NOT NULL,
                    queued_at REAL);
                CREATE INDEX IF NOT EXISTS messages_order ON messages (queue, priority, id);
                CREATE TABLE IF NOT EXISTS results (
                    task_id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    meta BLOB NOT NULL,
                    expires_at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS results_expiry ON results (expires_at);
                CREATE TABLE IF NOT EXISTS dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    queue TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at REAL NOT NULL,
                    body BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS revoked (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    task_id TEXT NOT NULL UNIQUE,
                    terminate INTEGER NOT NULL,
                    at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS revoked_at ON revoked (at);
                CREATE TABLE IF NOT EXISTS events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    body BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS claims (
                    slot TEXT PRIMARY KEY,
                    at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS chords (
                    group_id TEXT PRIMARY KEY,
                    size INTEGER NOT NULL,
                    fired INTEGER NOT NULL DEFAULT 0,
                    at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS saved_groups (
                    group_id TEXT PRIMARY KEY,
                    meta BLOB NOT NULL,
                    expires_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS chord_parts (
                    group_id TEXT NOT NULL,
                    idx INTEGER NOT NULL,
                    result BLOB NOT NULL,
                    PRIMARY KEY (group_id, idx));
                """)
        // Files from before revocations had a sequence: move them over, oldest first.
        if try db.tableExists("revocations") {
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO revoked (task_id, terminate, at)
                        SELECT task_id, terminate, at FROM revocations ORDER BY at;
                    DROP TABLE revocations;
                    """)
        }
        try migrateDeadLetters(db)
        // Files from before lapsed leases were counted.
        let columns = try Set(Row.fetchAll(db, sql: "PRAGMA table_info(messages)").map { $0["name"] as String })
        if !columns.contains("lapses") {
            try db.execute(sql: "ALTER TABLE messages ADD COLUMN lapses INTEGER NOT NULL DEFAULT 0")
        }
        // Files from before the queue time was stored: their messages have waited at least since now. A row that a
        // version without the column writes later has none (NULL), and does not count for the oldest's age.
        if !columns.contains("queued_at") {
            try db.execute(sql: "ALTER TABLE messages ADD COLUMN queued_at REAL")
            try db.execute(sql: "UPDATE messages SET queued_at = ?", arguments: [now])
        }
    }

    /// Adds the whole envelope's size, SHA-256, task id and name to the dead letters of a file made before they had
    /// them (their bodies are whole: `NULL` reads as read from the body), and the count of letters dropped for the
    /// limits.
    private static func migrateDeadLetters(_ db: Database) throws {
        let columns = try Set(Row.fetchAll(db, sql: "PRAGMA table_info(dead_letters)").map { $0["name"] as String })
        for column in ["size INTEGER", "sha256 TEXT", "task_id TEXT", "task TEXT"]
        where !columns.contains(String(column.prefix { $0 != " " })) {
            try db.execute(sql: "ALTER TABLE dead_letters ADD COLUMN \(column)")
        }
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    }

    // MARK: Broker

    public func commit(_ commit: BrokerCommit) async throws {
        try await self.commit(commit, storing: [])
    }

    public func commit(_ commit: BrokerCommit, storing results: [TaskResult]) async throws {
        guard !commit.isEmpty || !results.isEmpty else { return }
        let now = clock.now.timeIntervalSince1970
        let rows = Self.encode(results)
        let expires = now + resultExpiry
        let events = commit.events.map { Data($0.jsonBytes) }
        let limits = deadLetterLimits
        let letters = commit.deadLetter.map { limits.bound($0.delivery.body, reason: $0.reason) }
        let dropped = try await write { db -> (count: Int, total: Int64) in
            try Self.store(rows, expires: expires, now: now, in: db)
            try Self.apply(commit, events: events, now: now, in: db)
            return try Self.deadLetter(zip(commit.deadLetter.map(\.delivery), letters), limits, now: now, in: db)
        }
        if dropped.count > 0 { logger.warning("\(limits.dropMessage(dropped.count, total: dropped.total))") }
        if !commit.send.isEmpty || !commit.requeue.isEmpty { messagesChanged.signal() }
        if !results.isEmpty { resultsChanged.signal() }
    }

    private static func apply(_ commit: BrokerCommit, events: [Data], now: Double, in db: Database) throws {
        if !commit.send.isEmpty {
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO messages (tag, task_id, queue, priority, visible_at, body, queued_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (tag) DO NOTHING
                    """)
            for message in commit.send {
                let eta = message.eta?.timeIntervalSince1970
                // It waits from now, or from its ETA: until then no worker can take it.
                try insert.execute(arguments: [
                    message.tag, message.taskId, message.queue, message.priority, eta ?? 0, message.body,
                    max(now, eta ?? now),
                ])
            }
        }
        if !commit.ack.isEmpty {
            let delete = try db.cachedStatement(sql: "DELETE FROM messages WHERE tag = ?")
            for tag in commit.ack { try delete.execute(arguments: [tag]) }
        }
        for tag in commit.requeue {
            try db.execute(sql: "UPDATE messages SET visible_at = 0, leased = 0 WHERE tag = ?", arguments: [tag])
        }
        guard !events.isEmpty else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO events (body) VALUES (?)")
        for event in events { try insert.execute(arguments: [event]) }
        // Keep the newest 50,000 events: enough for the dashboard's history, bounded on disk.
        let last = db.lastInsertedRowID
        if last % 1_000 < Int64(events.count) {
            try db.execute(sql: "DELETE FROM events WHERE id <= ?", arguments: [last - 50_000])
        }
    }

    /// Moves `deliveries` to the dead letters, bounded by `limits`, and drops the oldest letters past them.
    /// - Returns: how many letters were dropped, and how many in all.
    private static func deadLetter(
        _ deliveries: Zip2Sequence<[Delivery], [BoundedDeadLetter]>, _ limits: DeadLetterLimits, now: Double,
        in db: Database
    ) throws -> (count: Int, total: Int64) {
        var any = false
        for (delivery, letter) in deliveries {
            any = true
            try db.execute(sql: "DELETE FROM messages WHERE tag = ?", arguments: [delivery.tag])
            try db.execute(
                sql: """
                    INSERT INTO dead_letters (queue, reason, at, body, size, sha256, task_id, task)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    delivery.queue, letter.reason, now, letter.body, letter.size, letter.sha256,
                    letter.taskId, letter.task,
                ])
        }
        guard any else { return (0, 0) }
        // A scan of the letters, only when one arrives; `length` of a blob reads no content.
        let stored = "length(body) + length(CAST(reason AS BLOB))"
        let totals = try Row.fetchOne(
            db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(\(stored)), 0) AS bytes FROM dead_letters")!
        var (count, bytes): (Int, Int) = (totals["n"], totals["bytes"])
        guard count > limits.maxCount || bytes > limits.maxTotalBytes else { return (0, 0) }
        var dropped = 0
        var last: Int64 = 0
        // The cursor ends before the delete below.
        do {
            let oldest = try Row.fetchCursor(db, sql: "SELECT id, \(stored) AS bytes FROM dead_letters ORDER BY id")
            while count > limits.maxCount || bytes > limits.maxTotalBytes, let row = try oldest.next() {
                last = row["id"]
                count -= 1
                bytes -= row["bytes"] as Int
                dropped += 1
            }
        }
        try db.execute(sql: "DELETE FROM dead_letters WHERE id <= ?", arguments: [last])
        try db.execute(
            sql: """
                INSERT INTO counters (name, value) VALUES ('dead_letters_dropped', ?)
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value
                """,
            arguments: [dropped])
        let total = try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'dead_letters_dropped'") ?? 0
        return (dropped, total)
    }

    public func receive(from queues: [String], limit: Int, lease: Duration, timeout: Duration) async throws
        -> [Delivery]
    {
        let deadline = clock.now.addingTimeInterval(timeout.seconds)
        var pause = Duration.milliseconds(1)
        let marks = Array(repeating: "?", count: queues.count).joined(separator: ",")
        while true {
            try checkFile()
            let generation = messagesChanged.generation
            let now = clock.now.timeIntervalSince1970
            let until = now + lease.seconds
            let deliveries = try await write { db in
                let take = try db.cachedStatement(
                    sql: """
                        UPDATE messages SET visible_at = ?, leased = 1, deliveries = deliveries + 1,
                                            lapses = lapses + leased
                        WHERE id IN (SELECT id FROM messages WHERE queue IN (\(marks)) AND visible_at <= ?
                                     ORDER BY priority, id LIMIT ?)
                        RETURNING id, tag, queue, priority, deliveries, lapses, body
                        """)
                return try Row.fetchAll(
                    take,
                    arguments: StatementArguments(
                        [until] + queues.map { $0 as any DatabaseValueConvertible } + [now, limit])
                )
                .sorted { ($0["priority"] as Int, $0["id"] as Int64) < ($1["priority"] as Int, $1["id"] as Int64) }
                .map { row in
                    Delivery(
                        tag: row["tag"], queue: row["queue"], body: row["body"],
                        redelivered: (row["deliveries"] as Int) > 1, lapsedLeases: row["lapses"])
                }
            }
            if !deliveries.isEmpty { return deliveries }
            if clock.now >= deadline || Task.isCancelled { return [] }
            // Another process cannot wake this one: look again after `pause`, doubling to 50 ms.
            let next = min(deadline, clock.now.addingTimeInterval(pause.seconds))
            await messagesChanged.wait(after: generation, until: next, on: clock)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    public func renew(_ tags: [String], lease: Duration) async throws {
        let until = clock.now.timeIntervalSince1970 + lease.seconds
        try await write { db in
            let renew = try db.cachedStatement(sql: "UPDATE messages SET visible_at = ? WHERE tag = ? AND leased = 1")
            for tag in tags { try renew.execute(arguments: [until, tag]) }
        }
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                Self.deadLetter($0)
            }
        }
    }

    private static func deadLetter(_ row: Row) -> DeadLetter {
        DeadLetter(
            id: row["id"], queue: row["queue"], reason: row["reason"], at: Date(timeIntervalSince1970: row["at"]),
            body: row["body"], size: row["size"], sha256: row["sha256"], taskId: row["task_id"], task: row["task"])
    }

    public func droppedDeadLetters() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'dead_letters_dropped'") ?? 0
        }
    }

    public func replayDeadLetters(_ ids: [Int64]?) async throws -> Int {
        let replayed = try await write { db -> Int in
            let rows: [Row]
            if let ids {
                rows = try ids.compactMap {
                    try Row.fetchOne(db, sql: "SELECT * FROM dead_letters WHERE id = ?", arguments: [$0])
                }
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY id")
                    .filter { !Self.deadLetter($0).isTruncated }
            }
            if let refusal = rows.lazy.compactMap({ Self.deadLetter($0).replayRefusal }).first { throw refusal }
            for row in rows {
                let message = OutgoingMessage(raw: row["body"], queue: row["queue"])
                try db.execute(
                    sql:
                        "INSERT INTO messages (tag, task_id, queue, priority, visible_at, body) VALUES (?, ?, ?, 0, 0, ?)",
                    arguments: [message.tag, message.taskId, message.queue, message.body])
                try db.execute(sql: "DELETE FROM dead_letters WHERE id = ?", arguments: [row["id"] as Int64])
            }
            return rows.count
        }
        if replayed > 0 { messagesChanged.signal() }
        return replayed
    }

    // A message whose lease ran out (its worker died) waits again: `receive` hands it out, so it is counted and purged
    // as waiting, and no longer as leased.

    public func purge(queue: String) async throws -> Int {
        let now = clock.now.timeIntervalSince1970
        return try await write { db in
            try db.execute(
                sql: "DELETE FROM messages WHERE queue = ? AND (leased = 0 OR visible_at <= ?)",
                arguments: [queue, now])
            return db.changesCount
        }
    }

    public func queueLengths() async throws -> [String: Int] {
        let now = clock.now.timeIntervalSince1970
        return try await read { db in
            var lengths: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT queue, COUNT(*) AS n FROM messages WHERE leased = 0 OR visible_at <= ? GROUP BY queue
                    """, arguments: [now])
            {
                lengths[row["queue"]] = row["n"]
            }
            return lengths
        }
    }

    /// One query for every queue: the waiting messages as ``queueLengths()`` counts them, and the earliest stored
    /// queue time among them that has come (a message with a later ETA has not begun to wait).
    public func backlogs(of queues: [String]) async throws -> [String: QueueBacklog] {
        let empty = Dictionary(queues.map { ($0, QueueBacklog.empty) }) { first, _ in first }
        guard !empty.isEmpty else { return empty }
        let now = clock.now.timeIntervalSince1970
        let marks = Array(repeating: "?", count: empty.count).joined(separator: ",")
        return try await read { db in
            var backlogs = empty
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT queue, COUNT(*) AS n, MIN(CASE WHEN queued_at <= ? THEN queued_at END) AS oldest
                    FROM messages WHERE queue IN (\(marks)) AND (leased = 0 OR visible_at <= ?) GROUP BY queue
                    """,
                arguments: StatementArguments([now] + empty.keys.map { $0 as any DatabaseValueConvertible } + [now]))
            {
                backlogs[row["queue"]] = QueueBacklog(
                    length: row["n"], oldestSince: (row["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
            return backlogs
        }
    }

    /// Messages leased to workers now, per queue.
    public func leasedCounts() async throws -> [String: Int] {
        let now = clock.now.timeIntervalSince1970
        return try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT queue, COUNT(*) AS n FROM messages WHERE leased = 1 AND visible_at > ? GROUP BY queue
                    """, arguments: [now])
            {
                counts[row["queue"]] = row["n"]
            }
            return counts
        }
    }

    /// Each revocation is a row with the next `seq` (a task revoked again is replaced by a new row, so readers past
    /// its old one see it); then rows past the age, and all but the newest `maxCount` sequence numbers, are deleted.
    /// Both deletions walk an index from the oldest end: O(deleted), whatever the table holds.
    public func revoke(_ ids: [String], terminate: Bool) async throws {
        guard !ids.isEmpty else { return }
        let now = clock.now.timeIntervalSince1970
        let limits = revocationLimits
        try await write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO revoked (task_id, terminate, at)
                    VALUES (?1, max(?2, coalesce((SELECT terminate FROM revoked WHERE task_id = ?1), 0)), ?3)
                    """)
            for id in ids { try insert.execute(arguments: [id, terminate, now]) }
            try db.execute(sql: "DELETE FROM revoked WHERE at < ?", arguments: [now - limits.maxAge])
            try db.execute(
                sql: "DELETE FROM revoked WHERE seq <= (SELECT max(seq) FROM revoked) - ?",
                arguments: [limits.maxCount])
        }
    }

    /// The cursor is the `seq` of the newest revocation read.
    public func revocations(after cursor: RevocationCursor?) async throws
        -> (revocations: [Revocation], cursor: RevocationCursor)
    {
        let after: Int64 =
            cursor.map { cursor in
                guard let seq = Int64(cursor.position) else {
                    preconditionFailure("'\(cursor)' is not a revocation cursor of an SQLite broker")
                }
                return seq
            } ?? 0
        let cutoff = clock.now.timeIntervalSince1970 - revocationLimits.maxAge
        return try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT seq, task_id, terminate, at FROM revoked WHERE seq > ? AND at >= ? ORDER BY seq",
                arguments: [after, cutoff])
            let revocations = rows.map { row in
                Revocation(id: row["task_id"], terminate: row["terminate"], at: Date(timeIntervalSince1970: row["at"]))
            }
            let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM revoked") ?? after
            return (revocations, RevocationCursor(String(max(after, last))))
        }
    }

    public func events(after cursor: Int64, limit: Int) async throws -> (events: [QueueEvent], cursor: Int64) {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [cursor, limit])
            let decoder = JSONDecoder()
            let events = rows.compactMap { try? decoder.decode(QueueEvent.self, from: $0["body"] as Data) }
            return (events, rows.last?["id"] ?? cursor)
        }
    }

    public func claim(_ slot: String, sending message: OutgoingMessage) async throws -> Bool {
        let now = clock.now.timeIntervalSince1970
        let claimed = try await write { db in
            try db.execute(
                sql: "INSERT INTO claims (slot, at) VALUES (?, ?) ON CONFLICT (slot) DO NOTHING",
                arguments: [slot, now])
            guard db.changesCount == 1 else { return false }
            try Self.apply(BrokerCommit(send: [message]), events: [], now: now, in: db)
            return true
        }
        if claimed { messagesChanged.signal() }
        return claimed
    }

    public func close() async {
        try? pool.close()
    }

    // MARK: The file

    /// A file's device and inode.
    private struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64

        /// The identity of the file at `path`; `nil` if there is none.
        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    /// Throws if the file at ``path`` is no longer the one opened: deleted, or replaced by another. A worker would
    /// otherwise go on, healthy-looking, on a file no sender sees. At most once a second: a `stat` is cheap, but
    /// an idle receive polls every 50 ms.
    private func checkFile() throws {
        guard let identity else { return }
        let due = lastIdentityCheck.withLock { last in
            let now = clock.now
            guard now.timeIntervalSince(last) >= 1 else { return false }
            last = now
            return true
        }
        guard due, FileIdentity(path) != identity else { return }
        throw QueueError.brokerGone("the SQLite broker's file \(path) was deleted or replaced")
    }

    // MARK: ResultBackend

    public func store(_ results: [TaskResult]) async throws {
        try await commit(BrokerCommit(), storing: results)
    }

    private static func encode(_ results: [TaskResult]) -> [(String, String, Data)] {
        results.map { ($0.taskId, $0.status.rawValue, Data($0.jsonBytes)) }
    }

    private static func store(_ rows: [(String, String, Data)], expires: Double, now: Double, in db: Database) throws {
        guard !rows.isEmpty else { return }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO results (task_id, status, meta, expires_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, meta = excluded.meta,
                    expires_at = excluded.expires_at
                WHERE results.status != 'SUCCESS' OR results.expires_at < ?
                """)
        for (id, status, meta) in rows { try upsert.execute(arguments: [id, status, meta, expires, now]) }
        if Int.random(in: 0..<100) == 0 {
            try db.execute(sql: "DELETE FROM results WHERE expires_at < ?", arguments: [now])
        }
    }

    public func results(for ids: [String]) async throws -> [String: TaskResult] {
        let now = clock.now.timeIntervalSince1970
        let rows = try await read { db in
            try ids.compactMap { id in
                try Data.fetchOne(
                    db, sql: "SELECT meta FROM results WHERE task_id = ? AND expires_at >= ?",
                    arguments: [id, now])
            }
        }
        var results: [String: TaskResult] = [:]
        for row in rows {
            let result = try TaskResult(jsonBytes: row)
            results[result.taskId] = result
        }
        return results
    }

    /// How many stored results are in each state.
    public func resultCounts() async throws -> [TaskState: Int] {
        try await read { db in
            var counts: [TaskState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM results GROUP BY status") {
                counts[TaskState(rawValue: row["status"])] = row["n"]
            }
            return counts
        }
    }

    public func waitForResult(_ id: String, timeout: Duration?) async throws -> TaskResult? {
        let deadline = timeout.map { clock.now.addingTimeInterval($0.seconds) }
        var pause = Duration.milliseconds(1)
        while true {
            let generation = resultsChanged.generation
            let result = try await results(for: [id])[id]
            if let result, result.status.isReady { return result }
            if let deadline, clock.now >= deadline { return result }
            try Task.checkCancellation()
            let next = clock.now.addingTimeInterval(pause.seconds)
            await resultsChanged.wait(after: generation, until: deadline.map { min($0, next) } ?? next, on: clock)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    public func forget(_ ids: [String]) async throws {
        try await write { db in
            for id in ids { try db.execute(sql: "DELETE FROM results WHERE task_id = ?", arguments: [id]) }
        }
    }

    public func setChordSize(_ groupId: String, size: Int) async throws {
        let now = clock.now.timeIntervalSince1970
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO chords (group_id, size, fired, at) VALUES (?, ?, 0, ?)",
                arguments: [groupId, size, now])
        }
    }

    public func saveGroup(_ groupId: String, tuple: JSONValue) async throws {
        let now = clock.now.timeIntervalSince1970
        let expires = now + resultExpiry
        let meta = Data(JSONValue.object(["result": tuple]).jsonBytes)
        try await write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO saved_groups (group_id, meta, expires_at) VALUES (?, ?, ?)",
                arguments: [groupId, meta, expires])
        }
    }

    public func savedGroup(_ groupId: String) async throws -> JSONValue? {
        let now = clock.now.timeIntervalSince1970
        let meta = try await read { db in
            try Data.fetchOne(
                db, sql: "SELECT meta FROM saved_groups WHERE group_id = ? AND expires_at >= ?",
                arguments: [groupId, now])
        }
        guard let meta else { return nil }
        do {
            return try JSONValue(parsing: meta)["result"]
        } catch {
            throw QueueError.storage("the saved group \(groupId) is not JSON: \(error)")
        }
    }

    public func deleteGroup(_ groupId: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM saved_groups WHERE group_id = ?", arguments: [groupId])
        }
    }

    public func addChordPart(_ groupId: String, index: Int, result: TaskResult) async throws -> [TaskResult]? {
        let encoded = try JSONEncoder().encode(result)
        let parts = try await write { db -> [Data]? in
            try db.execute(
                sql: "INSERT OR REPLACE INTO chord_parts (group_id, idx, result) VALUES (?, ?, ?)",
                arguments: [groupId, index, encoded])
            guard
                let size = try Int.fetchOne(
                    db, sql: "SELECT size FROM chords WHERE group_id = ? AND fired = 0",
                    arguments: [groupId]),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chord_parts WHERE group_id = ?", arguments: [groupId])
                    == size
            else { return nil }
            try db.execute(sql: "UPDATE chords SET fired = 1 WHERE group_id = ?", arguments: [groupId])
            let parts = try Data.fetchAll(
                db, sql: "SELECT result FROM chord_parts WHERE group_id = ? ORDER BY idx",
                arguments: [groupId])
            try db.execute(sql: "DELETE FROM chord_parts WHERE group_id = ?", arguments: [groupId])
            return parts
        }
        return try parts?.map { try TaskResult(jsonBytes: $0) }
    }

    // MARK: Access

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let written = Written<T>()
        do {
            try await commits.submit({ db in written.value.withLock { [value = try body(db)] in $0 = value } }) {
                [pool] bodies in try await Self.commit(bodies, in: pool)
            }
            // A write that did not throw stored its value before its batch committed.
            return written.value.withLock { $0! }
        } catch let error as QueueError {
            throw error
        } catch {
            throw QueueError.storage("SQLite broker: \(Self.reason(error))")
        }
    }

    /// Runs `bodies` in one immediate transaction, each in its own savepoint, so one failing write fails alone.
    private static func commit(
        _ bodies: [@Sendable (Database) throws -> Void], in pool: DatabasePool
    ) async throws -> [Result<Void, any Error>] {
        try await pool.writeWithoutTransaction { db in
            var outcomes: [Result<Void, any Error>] = []
            try db.inTransaction(.immediate) {
                for body in bodies {
                    outcomes.append(
                        Result {
                            try db.inSavepoint {
                                try body(db)
                                return .commit
                            }
                        })
                }
                return .commit
            }
            return outcomes
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw QueueError.storage("SQLite broker: \(Self.reason(error))")
        }
    }

    /// `mkdir -p`, returning why it failed.
    private static func makeDirectories(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var info = stat()
            if stat(prefix, &info) == 0 {
                if info.st_mode & S_IFMT != S_IFDIR { return "'\(prefix)' is a file, not a directory" }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return String(cString: strerror(errno)) }
        }
        return nil
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return (error as NSError).localizedDescription
    }
}

/// What one write in a group commit returned, kept for its caller.
private final class Written<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
