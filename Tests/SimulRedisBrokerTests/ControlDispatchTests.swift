import Foundation
import SimulJSON
import SimulQueue
import Testing

@testable import SimulRedisBroker

/// Which pidbox messages a worker runs, as kombu's `Node.handle_message` decides: no server, just the rule.
struct ControlDispatchTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func envelope(_ body: JSONValue, headers: JSONValue = ["clock": 7]) -> [UInt8] {
        Kombu.envelope(body: body, headers: headers, exchange: "celery.pidbox", routingKey: "")
    }

    func read(_ body: JSONValue, node: String = "w1@host") -> RedisListener.ControlMessage {
        RedisListener.controlRequest(envelope(body), for: node, now: now)
    }

    @Test func destinationPatternOrNeitherDecide() {
        let ping = ControlRequest(method: "ping", clock: 7)
        #expect(read(["method": "ping", "destination": ["w1@host"]]) == .request(ping))
        #expect(read(["method": "ping", "destination": ["w2@host"]]) == .notForThisNode)
        #expect(read(["method": "ping", "destination": nil]) == .request(ping))
        #expect(read(["method": "ping"]) == .request(ping))
        #expect(read(["method": "ping", "pattern": "w1@*", "matcher": "glob"]) == .request(ping))
        #expect(read(["method": "ping", "pattern": "w2@*", "matcher": "glob"]) == .notForThisNode)
        #expect(read(["method": "ping", "pattern": "w[0-9]@", "matcher": "pcre"]) == .request(ping))
        #expect(read(["method": "ping", "pattern": "host", "matcher": "pcre"]) == .notForThisNode)
    }

    @Test func expiredCommandsStillRunAsOnPythonWorkers() {
        let body: JSONValue = ["method": "revoke", "arguments": ["task_id": "a"]]
        let stale = RedisListener.controlRequest(
            envelope(body, headers: ["expires": .number(now.timeIntervalSince1970 - 60)]), for: "w1@host", now: now)
        #expect(stale == .request(ControlRequest(method: "revoke", arguments: ["task_id": "a"])))
    }

    @Test func theReplyAddressAndTicketAreKept() {
        let message = read([
            "method": "stats", "ticket": "t-1",
            "reply_to": ["exchange": "reply.celery.pidbox", "routing_key": "oid"],
        ])
        #expect(
            message
                == .request(
                    ControlRequest(
                        method: "stats", replyTo: .init(exchange: "reply.celery.pidbox", routingKey: "oid"),
                        ticket: "t-1", clock: 7)))
    }

    @Test func badBodiesAreNamed() {
        #expect(
            RedisListener.controlRequest(Array("nope".utf8), for: "w1@host", now: now)
                == .malformed("not a kombu envelope with a JSON body (4 bytes)"))
        #expect(read([1, 2]) == .malformed("its body is not a JSON object"))
        #expect(read(["arguments": [:]]) == .malformed("its body has no method"))
        #expect(
            read(["method": "ping", "arguments": 5]) == .malformed("the arguments of 'ping' are not a JSON object"))
        #expect(
            read(["method": "ping", "destination": "w1@host"])
                == .malformed("the destination of 'ping' is neither a list nor null"))
    }
}
