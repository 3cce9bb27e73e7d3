import Foundation
public import SimulJSON
public import SimulQueue
import SimulRedis

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
