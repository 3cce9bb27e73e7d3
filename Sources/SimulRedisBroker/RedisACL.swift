/// What a Redis ACL user needs to run Simul's workers, clients and beats, and nothing more of Redis: the commands
/// they send, and those their Lua scripts call (Redis checks those too). No administration (`CONFIG`, `ACL`,
/// `SHUTDOWN`), no `KEYS`, no `FLUSHDB`.
///
/// ```sh
/// redis-cli ACL SETUSER simul on '>s3cret' '~*' '&*' -@all +ping +auth +select +multi +exec …   # RedisACL.rule
/// simul worker --broker redis://simul:s3cret@cache.internal:6379/0
/// ```
///
/// Keys and channels stay open (`~*`, `&*`): queue names are the application's, and results, events and remote
/// control use channels named after task ids and databases. Give each application a database or a Redis of its own.
public enum RedisACL {
    /// The commands, in lower case, as `ACL SETUSER` takes them.
    public static let commands = [
        // Connecting (ROLE through sentinels), and each commit as one transaction (WAIT with wait_replicas).
        "ping", "auth", "select", "role", "multi", "exec", "wait",
        // Receiving, requeueing and acknowledging (the receive is a Lua script); the oldest waiting message.
        "eval", "brpop", "lpush", "rpush", "rpop", "llen", "lindex", "del", "expire",
        // Results, chords, beat claims and counters.
        "get", "set", "setex", "exists", "mget", "incr", "incrby", "decrby",
        // kombu's bindings and unacked, dead letters, leases.
        "sadd", "smembers", "sismember", "hset", "hmget", "hgetall", "hdel", "hexists", "hkeys", "hlen", "hstrlen",
        "zadd", "zrem", "zrange", "zcard", "zcount", "zpopmin",
        // Revocations.
        "xadd", "xrange", "xtrim",
        // Results, events and remote control.
        "publish", "subscribe", "psubscribe", "unsubscribe", "punsubscribe",
        // Queue lengths and purges find the priority lists.
        "scan",
    ]

    /// The `ACL SETUSER` rule for `user` with `password`: every key and channel, and only ``commands``.
    public static func rule(user: String, password: String) -> [String] {
        [user, "on", ">\(password)", "~*", "&*", "-@all"] + commands.map { "+\($0)" }
    }
}
