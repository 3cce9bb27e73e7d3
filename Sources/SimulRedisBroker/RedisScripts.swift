import SimulRedis
import SimulRESP

/// The Lua scripts the Redis broker runs, each atomic on the server.
///
/// They go as `EVAL` with their text, which Redis compiles once and caches: unlike `EVALSHA`, that cannot fail
/// with `NOSCRIPT` in the middle of a `MULTI` after Redis restarts.
enum RedisScripts {
    /// Records message `m`, popped from a list of queue `rk`, in `unacked` (`KEYS[2]`) and `unacked_index`
    /// (`KEYS[1]`, scored `now`) as kombu does: under its delivery tag, with the envelope embedded as JSON and the
    /// exchange and routing key it names. A message that is not such an envelope is held as a string under
    /// `fallback`.
    ///
    /// The tag, exchange and routing key are read with patterns first: in an envelope they appear only in
    /// `properties`, since the body is base64 and any quote inside a header's string is escaped. Only an envelope
    /// where they do not match plainly is decoded in full.
    private static let holdFunction = """
        local function hold(m, rk, fallback, now)
          local from = string.find(m, '"properties"', 1, true) or 1
          local tag = string.match(m, '"delivery_tag"%s*:%s*"([%w%-_.:]+)"', from)
          local exchange = string.match(m, '"exchange"%s*:%s*"([%w%-_.:]*)"', from)
          local key = string.match(m, '"routing_key"%s*:%s*"([%w%-_.:]*)"', from)
          local entry
          if tag and exchange and key and string.sub(m, 1, 1) == '{' then
            entry = '[' .. m .. ',"' .. exchange .. '","' .. key .. '"]'
          else
            tag, exchange = nil, ''
            local ok, env = pcall(cjson.decode, m)
            if ok and type(env) == 'table' and type(env.properties) == 'table' then
              local p = env.properties
              if type(p.delivery_tag) == 'string' then tag = p.delivery_tag end
              if type(p.delivery_info) == 'table' then
                if type(p.delivery_info.exchange) == 'string' then exchange = p.delivery_info.exchange end
                if type(p.delivery_info.routing_key) == 'string' then rk = p.delivery_info.routing_key end
              end
              entry = '[' .. m .. ',' .. cjson.encode(exchange) .. ',' .. cjson.encode(rk) .. ']'
            else
              entry = cjson.encode({m, exchange, rk})
            end
          end
          tag = tag or fallback
          redis.call('ZADD', KEYS[1], now, tag)
          redis.call('HSET', KEYS[2], tag, entry)
          return tag
        end

        """

    /// Pops up to `ARGV[2]` messages from the lists `KEYS[3...]` (whose queues are `ARGV[4...]`), in that order,
    /// and holds each (see `holdFunction`), all in one step, so a worker that dies at any moment leaves every
    /// message either in its list or in `unacked`. Untagged messages are held under `ARGV[3]` and a number.
    /// Returns `[list, tag, message, …]`.
    static let receive =
        holdFunction + """
            local limit = tonumber(ARGV[2])
            local out = {}
            for i = 3, #KEYS do
              while #out < 3 * limit do
                local m = redis.call('RPOP', KEYS[i])
                if not m then break end
                local tag = hold(m, ARGV[i + 1], ARGV[3] .. #out, ARGV[1])
                out[#out + 1] = KEYS[i]
                out[#out + 1] = tag
                out[#out + 1] = m
              end
            end
            return out
            """

    /// Holds message `ARGV[2]`, popped from a list of queue `ARGV[3]` by a blocking pop, as ``receive`` does
    /// (untagged: as `ARGV[4]`). Returns its tag.
    static let hold =
        holdFunction + """
            return hold(ARGV[2], ARGV[3], ARGV[4], ARGV[1])
            """

    /// Moves the held message `ARGV[1]` back to the consuming end of list `KEYS[3]` as `ARGV[2]`, if it is still
    /// held: a worker that acknowledged it meanwhile wins. Returns 1 if moved.
    static let restore = """
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
        redis.call('ZREM', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        redis.call('RPUSH', KEYS[3], ARGV[2])
        return 1
        """

    /// Claims slot `KEYS[1]` for `ARGV[1]` seconds and pushes message `ARGV[2]` onto list `KEYS[2]`, unless the slot
    /// is claimed already. The push comes first: if it fails, the slot stays unclaimed. Returns 1 if claimed.
    static let claimAndSend = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('LPUSH', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
        return 1
        """

    /// Stores each result `ARGV[i]` under `KEYS[i]` for `ARGV[#KEYS + 1]` seconds (forever if 0) and publishes it
    /// on the channel of the same name, unless a SUCCESS is stored there already: one script call per batch.
    static let storeResults = """
        local expiry = tonumber(ARGV[#KEYS + 1])
        for i, key in ipairs(KEYS) do
          local current = redis.call('GET', key)
          if not (current and string.find(current, '"status"%s*:%s*"SUCCESS"')) then
            if expiry > 0 then
              redis.call('SETEX', key, expiry, ARGV[i])
            else
              redis.call('SET', key, ARGV[i])
            end
            redis.call('PUBLISH', key, ARGV[i])
          end
        end
        return 1
        """

    /// Celery 5.7's chord join: adds part `ARGV[2]` of task `ARGV[1]` at index `ARGV[3]` once, and when every
    /// part is in and this call wins the claim, returns the parts in index order and marks the chord done.
    /// Keys: `.j`, `.t`, `.s`, `.d`, the group key, `.c`; `ARGV[4]` is the expiry, `ARGV[5]` the claim token.
    static let chordPart = """
        if redis.call('GET', KEYS[6]) == 'done' then return nil end
        local member = ARGV[1] .. ':' .. ARGV[3]
        if redis.call('SISMEMBER', KEYS[4], member) == 0 then
          redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
          redis.call('SADD', KEYS[4], member)
        end
        local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
        for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
        local total = tonumber(redis.call('GET', KEYS[3]) or '0') + tonumber(redis.call('GET', KEYS[2]) or '0')
        if ready ~= total then return nil end
        if not redis.call('SET', KEYS[6], ARGV[5], 'NX', 'EX', ARGV[4]) then return nil end
        local parts = redis.call('ZRANGE', KEYS[1], 0, -1)
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
        redis.call('SET', KEYS[6], 'done', 'EX', ARGV[4])
        return parts
        """

    /// Adds dead letter `ARGV[1]` under the next number of `KEYS[1]` in hash `KEYS[2]`, then drops the oldest
    /// letters while there are more than `ARGV[2]` or they take more than `ARGV[3]` bytes. The ids in order are the
    /// sorted set `KEYS[3]`, their bytes the counter `KEYS[4]` (both rebuilt from the hash when they disagree with
    /// it, as after letters written by an older version); drops are counted in `KEYS[5]`.
    /// Returns `{id, dropped now, dropped in all}`.
    static let deadLetter = """
        if redis.call('ZCARD', KEYS[3]) ~= redis.call('HLEN', KEYS[2]) then
          redis.call('DEL', KEYS[3])
          local bytes = 0
          for _, old in ipairs(redis.call('HKEYS', KEYS[2])) do
            redis.call('ZADD', KEYS[3], tonumber(old), old)
            bytes = bytes + redis.call('HSTRLEN', KEYS[2], old)
          end
          redis.call('SET', KEYS[4], bytes)
        end
        local id = redis.call('INCR', KEYS[1])
        redis.call('HSET', KEYS[2], id, ARGV[1])
        redis.call('ZADD', KEYS[3], id, id)
        local bytes = redis.call('INCRBY', KEYS[4], string.len(ARGV[1]))
        local maxCount, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[3])
        local dropped = 0
        while redis.call('ZCARD', KEYS[3]) > maxCount or bytes > maxBytes do
          local oldest = redis.call('ZPOPMIN', KEYS[3])
          if #oldest == 0 then break end
          bytes = redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[2], oldest[1]))
          redis.call('HDEL', KEYS[2], oldest[1])
          dropped = dropped + 1
        end
        local total = tonumber(redis.call('GET', KEYS[5]) or '0')
        if dropped > 0 then total = redis.call('INCRBY', KEYS[5], dropped) end
        return {id, dropped, total}
        """

    /// Removes dead letter `ARGV[1]` from hash `KEYS[1]`, its id from `KEYS[2]` and its bytes from `KEYS[3]` (see
    /// ``deadLetter``). Returns 1 if it was there.
    static let removeDeadLetter = """
        local bytes = redis.call('HSTRLEN', KEYS[1], ARGV[1])
        if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('DECRBY', KEYS[3], bytes)
        return 1
        """

    /// Releases lock `KEYS[1]` if it still holds token `ARGV[1]`.
    static let unlock = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    /// The `EVAL` command that runs `script` on `keys` and `arguments`.
    static func eval(_ script: String, keys: [String], _ arguments: [RedisArgument]) -> [RedisArgument] {
        ["EVAL", RedisArgument(script), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments
    }
}
