import Foundation

/// A broker or result backend address: `sqlite://PATH`, `redis://[:password@]host:port/db` (`rediss://` for TLS,
/// `sentinel://…;…?master_name=NAME` through Redis Sentinel) or `memory://`.
public enum BrokerURL: Sendable, Equatable {
    /// An SQLite file shared by the processes of one machine.
    case sqlite(path: String)
    /// A Redis server, over TLS for `rediss://`, or found through sentinels for `sentinel://`.
    case redis(String)
    /// This process's memory, for tests.
    case memory

    /// Where the default broker lives: `.simul/queue.sqlite` in the working directory.
    public static let defaultSQLitePath = ".simul/queue.sqlite"

    /// Parses `text`.
    /// - Throws: ``QueueError`` naming what is wrong.
    public init(_ text: String) throws(QueueError) {
        guard let separator = text.range(of: "://") else {
            throw .badURL(text, "expected scheme://…, with scheme sqlite, redis, rediss, sentinel or memory")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        let rest = String(text[separator.upperBound...])
        switch scheme {
        case "sqlite":
            guard !rest.isEmpty else {
                throw .badURL(text, "sqlite:// needs a file path, such as sqlite://.simul/queue.sqlite")
            }
            self = .sqlite(path: rest)
        case "redis", "rediss", "sentinel":
            self = .redis(text)
        case "memory":
            self = .memory
        default:
            throw .badURL(text, "unknown scheme '\(scheme)' (use sqlite, redis, rediss, sentinel or memory)")
        }
    }
}
