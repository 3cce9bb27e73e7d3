import Foundation
public import SimulJSON
public import SimulQueue
import NIOCore
import Simul
import SimulRedis
import SimulRESP

extension RedisBroker {
    public func controlRequests(for node: String) async throws -> AsyncStream<ControlRequest> {
        try await redis { try await listener.controlRequests(for: node) }
    }

    /// Pushes the answer to the reply queues bound to the request's routing key, as kombu's pidbox does.
    public func reply(to request: ControlRequest, from node: String, with answer: JSONValue) async throws {
        guard let replyTo = request.replyTo else { return }
        let members = try await redis {
            try await self.pool.send("SMEMBERS", RedisArgument(kombu.bindingKey(replyTo.exchange)))
        }
        guard case .array(let values) = members else { return }
        let queues = values.compactMap(\.string).compactMap { member -> String? in
            let parts = member.components(separatedBy: Kombu.separator)
            return parts.count == 3 && parts[0] == replyTo.routingKey ? parts[2] : nil
        }
        var headers: [String: JSONValue] = ["clock": 0]
        if let ticket = request.ticket { headers["ticket"] = .string(ticket) }
        let envelope = Kombu.envelope(
            body: [node: answer], headers: .object(headers), exchange: replyTo.exchange, routingKey: replyTo.routingKey)
        guard !queues.isEmpty else { return }
        _ = try await redis {
            try await self.pool.pipeline(
                queues.map {
                    ["LPUSH", RedisArgument(self.kombu.listKey($0, priority: 0)), RedisArgument(bytes: envelope)]
                })
        }
    }

    public var connectionDescription: [String: JSONValue] {
        [
            "hostname": .string(configuration.host), "userid": nil,
            "virtual_host": .string(String(configuration.database)), "port": .integer(Int64(configuration.port)),
            "insist": false, "ssl": false, "transport": "redis", "connect_timeout": 4, "transport_options": [:],
            "login_method": nil, "uri_prefix": nil, "heartbeat": nil, "failover_strategy": "round-robin",
            "alternates": [],
        ]
    }

    /// Publishes a command on the pidbox and collects the answers from a reply queue of its own, as kombu's
    /// `Mailbox._broadcast` and `_collect` do (`research/celery-control.md` §1.6).
    public func broadcast(
        _ method: String, arguments: [String: JSONValue], destination: [String]?, reply: Bool, timeout: Duration,
        limit: Int?
    ) async throws -> [ControlAnswer] {
        let channel = kombu.fanoutChannel(database: configuration.database, exchange: "celery.pidbox")
        var body: [String: JSONValue] = [
            "method": .string(method), "arguments": .object(arguments),
            "destination": destination.map { .array($0.map(JSONValue.string)) } ?? nil, "pattern": nil,
            "matcher": nil,
        ]
        let headers: JSONValue = ["clock": 0, "expires": .number(clock.now.timeIntervalSince1970 + timeout.seconds)]
        guard reply else {
            let envelope = Kombu.envelope(
                body: .object(body), headers: headers, exchange: "celery.pidbox", routingKey: "", deliveryMode: 2)
            _ = try await redis {
                try await self.pool.send("PUBLISH", RedisArgument(channel), RedisArgument(bytes: envelope))
            }
            return []
        }
        let client = UUID().uuidString.lowercased()
        let ticket = UUID().uuidString.lowercased()
        let queue = "\(client).reply.celery.pidbox"
        let exchange = "reply.celery.pidbox"
        body["ticket"] = .string(ticket)
        body["reply_to"] = ["exchange": .string(exchange), "routing_key": .string(client)]
        let envelope = Kombu.envelope(
            body: .object(body), headers: headers, exchange: "celery.pidbox", routingKey: "", deliveryMode: 2)
        let binding = Kombu.bindingMember(routingKey: client, queue: queue)
        let lists = Kombu.prioritySteps.map { kombu.listKey(queue, priority: $0) }
        _ = try await redis {
            try await self.pool.pipeline([
                ["SADD", RedisArgument(kombu.bindingKey(exchange)), RedisArgument(binding)],
                ["PUBLISH", RedisArgument(channel), RedisArgument(bytes: envelope)],
            ])
        }
        let connection = try await redis {
            try await RedisConnection.connect(to: self.configuration, logger: self.logger)
        }
        var answers: [ControlAnswer] = []
        let limit = limit ?? destination?.count
        do {
            while limit.map({ answers.count < $0 }) ?? true {
                // The idle timeout is Redis's own blocking wait: real time at the I/O edge.
                let reply = try await connection.send(
                    ["BRPOP"] + lists.map { RedisArgument($0) }
                        + [RedisArgument(String(format: "%.3f", max(0.01, timeout.seconds)))],
                    timeout: timeout + .seconds(10))
                guard case .array(let pair) = reply, pair.count == 2, case .bulkString(let bytes) = pair[1] else {
                    break
                }
                guard let (replyHeaders, replyBody) = Kombu.open(bytes.readableBytesView),
                    replyHeaders["ticket"]?.stringValue == ticket, case .object(let nodes) = replyBody
                else { continue }
                for (node, answer) in nodes.sorted(by: { $0.key < $1.key }) {
                    answers.append(ControlAnswer(node: node, reply: answer))
                }
            }
        } catch {
            await connection.close()
            await removeReplyQueue(exchange: exchange, binding: binding, lists: lists)
            throw QueueError.unavailable("cannot collect remote-control answers from redis: \(error)")
        }
        await connection.close()
        await removeReplyQueue(exchange: exchange, binding: binding, lists: lists)
        return answers
    }

    private func removeReplyQueue(exchange: String, binding: String, lists: [String]) async {
        _ = try? await pool.pipeline([
            ["SREM", RedisArgument(kombu.bindingKey(exchange)), RedisArgument(binding)],
            ["DEL"] + lists.map { RedisArgument($0) },
        ])
    }

    /// A remote-control command to every worker that wants no answer (a cast), such as `revoke`.
    func controlCast(_ method: String, _ arguments: [String: JSONValue]) -> [RedisArgument] {
        let body: JSONValue = [
            "method": .string(method), "arguments": .object(arguments), "destination": nil, "pattern": nil,
            "matcher": nil,
        ]
        let headers: JSONValue = ["clock": 0, "expires": .number(clock.now.timeIntervalSince1970 + 10)]
        let channel = kombu.fanoutChannel(database: configuration.database, exchange: "celery.pidbox")
        let envelope = Kombu.envelope(body: body, headers: headers, exchange: "celery.pidbox", routingKey: "")
        return ["PUBLISH", RedisArgument(channel), RedisArgument(bytes: envelope)]
    }
}
