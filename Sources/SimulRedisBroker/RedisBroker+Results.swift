import Foundation
import NIOCore
public import SimulJSON
public import SimulQueue
import SimulRedis
import SimulRESP

extension RedisBroker {
    public func store(_ results: [TaskResult]) async throws {
        guard !results.isEmpty else { return }
        _ = try await redis { try await self.pool.send(storeCommand(results)) }
    }

    /// `SETEX` and `PUBLISH` of each result, unless a SUCCESS is stored already, as Celery's backend does.
    func storeCommand(_ results: [TaskResult]) -> [RedisArgument] {
        RedisScripts.eval(
            RedisScripts.storeResults, keys: results.map { kombu.resultKey($0.taskId) },
            results.map { RedisArgument(bytes: $0.jsonBytes) } + [RedisArgument(resultExpiry)])
    }

    public func results(for ids: [String]) async throws -> [String: TaskResult] {
        guard !ids.isEmpty else { return [:] }
        let reply = try await redis {
            try await self.pool.send(["MGET"] + ids.map { RedisArgument(kombu.resultKey($0)) })
        }
        guard case .array(let values) = reply else { return [:] }
        var results: [String: TaskResult] = [:]
        for (id, value) in zip(ids, values) {
            if let result = Self.decodeResult(value) { results[id] = result }
        }
        return results
    }

    static func decodeResult(_ value: RESPValue) -> TaskResult? {
        guard case .bulkString(let bytes) = value else { return nil }
        return try? TaskResult(jsonBytes: bytes.readableBytesView)
    }

    /// Waits on the result's channel. Alongside, every ``resultCheckInterval`` it reads the result again, which
    /// catches one published while the subscriber was reconnecting, and notices Redis gone: when Redis has been
    /// unreachable for ``waitPatience`` the wait fails with ``QueueError/unavailable(_:)`` instead of hanging.
    public func waitForResult(_ id: String, timeout: Duration?) async throws -> TaskResult? {
        let waiter = try await listener.waitForResult(id)
        defer { listener.stopWaiting(waiter) }
        // Redis may go away between the subscription and this read: then ``watch(_:)`` reads again later.
        let latest = try? await results(for: [id])[id]
        if let latest, latest.status.isReady { return latest }
        return try await withThrowingTaskGroup(of: TaskResult?.self) { group in
            group.addTask { try await waiter.next(timeout: timeout) ?? latest }
            group.addTask { try await self.watch(id) }
            defer { group.cancelAll() }
            return try await group.next() ?? latest
        }
    }

    /// How often a waiting client reads its result again.
    static let resultCheckInterval = Duration.seconds(2)
    /// How long a waiting client waits for an unreachable Redis to come back before it gives up.
    static let waitPatience = Duration.seconds(20)

    /// Returns the result of `id` once a read finds it ready; throws once Redis has been unreachable for
    /// ``waitPatience``; runs until cancelled otherwise.
    private func watch(_ id: String) async throws -> TaskResult? {
        var unreachableSince: ContinuousClock.Instant?
        while true {
            try await Task.sleep(for: Self.resultCheckInterval)
            do {
                if let result = try await results(for: [id])[id], result.status.isReady { return result }
                unreachableSince = nil
            } catch let error as QueueError where error.isUnavailable {
                let since = unreachableSince ?? .now
                unreachableSince = since
                if ContinuousClock.now - since >= Self.waitPatience {
                    throw QueueError.unavailable(
                        "lost redis at \(configuration.endpoint) while waiting for task \(id) (\(error))")
                }
            }
        }
    }

    public func forget(_ ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await redis { try await self.pool.send(["DEL"] + ids.map { RedisArgument(kombu.resultKey($0)) }) }
    }

    public func setChordSize(_ groupId: String, size: Int) async throws {
        let keys = kombu.chordKeys(groupId)
        _ = try await transaction(
            "a chord's size",
            [
                ["DEL", RedisArgument(keys[5])],
                ["SET", RedisArgument(keys[2]), RedisArgument(size), "EX", RedisArgument(max(resultExpiry, 86_400))],
            ])
    }

    /// Celery's `save_group`: `{"result": tuple}` under `celery-taskset-meta-<id>`, with `SETEX` (`SET` when results
    /// do not expire) and a `PUBLISH` on the channel of the same name.
    public func saveGroup(_ groupId: String, tuple: JSONValue) async throws {
        let key = RedisArgument(kombu.chordKeys(groupId)[4])
        let meta = RedisArgument(bytes: JSONValue.object(["result": tuple]).jsonBytes)
        let set: [RedisArgument] =
            resultExpiry > 0 ? ["SETEX", key, RedisArgument(resultExpiry), meta] : ["SET", key, meta]
        _ = try await transaction("a saved group", [set, ["PUBLISH", key, meta]])
    }

    public func savedGroup(_ groupId: String) async throws -> JSONValue? {
        let reply = try await redis { try await self.pool.send(["GET", RedisArgument(kombu.chordKeys(groupId)[4])]) }
        guard case .bulkString(let bytes) = reply else { return nil }
        guard case .object(let meta)? = Kombu.json(Data(bytes.readableBytesView)) else {
            throw QueueError.storage("the saved group \(groupId) is not a JSON object")
        }
        return meta["result"]
    }

    public func deleteGroup(_ groupId: String) async throws {
        _ = try await redis { try await self.pool.send(["DEL", RedisArgument(kombu.chordKeys(groupId)[4])]) }
    }

    /// Celery 5.7's chord join, so header tasks run by Python workers and by Simul count alike.
    public func addChordPart(_ groupId: String, index: Int, result: TaskResult) async throws -> [TaskResult]? {
        let part: JSONValue = [1, .string(result.taskId), .string(result.status.rawValue), result.result]
        let reply = try await redis {
            try await self.pool.send(
                RedisScripts.eval(
                    RedisScripts.chordPart, keys: kombu.chordKeys(groupId),
                    [
                        RedisArgument(result.taskId), RedisArgument(part.jsonText), RedisArgument(index),
                        RedisArgument(max(resultExpiry, 86_400)), RedisArgument(UUID().uuidString),
                    ]))
        }
        guard case .array(let parts) = reply else { return nil }
        return parts.compactMap { value -> TaskResult? in
            guard let text = value.string, case .array(let fields)? = Kombu.json(Data(text.utf8)), fields.count == 4,
                let taskId = fields[1].stringValue,
                let status = fields[2].stringValue.map(TaskState.init(rawValue:))
            else { return nil }
            return TaskResult(taskId: taskId, status: status, result: fields[3])
        }
    }
}
