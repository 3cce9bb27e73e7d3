import Foundation
import Simul
import SimulJSON
import SimulQueue
import Testing

@Suite struct MessageCodecTests {
    @Test func roundTripKeepsEveryField() throws {
        var message = TaskMessage(task: "simul.add", args: [2, 3], kwargs: ["z": "q"], queue: "math")
        message.priority = 3
        message.eta = Date(timeIntervalSince1970: 1_795_298_062.5)
        message.retries = 2
        message.groupId = "g"
        message.groupIndex = 1
        message.hardTimeLimit = 10
        message.softTimeLimit = 5
        message.chain = [Signature("simul.mul", args: [10])]
        message.sentAt = Date(timeIntervalSince1970: 1_795_298_000.25)
        let decoded = try MessageCodec.decode(MessageCodec.encode(message))
        #expect(decoded == message)
    }

    /// A traced Python client's headers (research/embedding.md §4.4), with Sentry's nested copy: every header the
    /// codec does not read comes back out as it went in, and its own headers are not among them.
    @Test func headersItDoesNotReadSurviveAHop() throws {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        var envelope = try JSONValue(parsing: MessageCodec.encode(TaskMessage(task: "t.add", args: [1, 2])))
        var headers = try #require(envelope["headers"]?.objectValue)
        let foreign: [String: JSONValue] = [
            "traceparent": .string(traceparent), "tracestate": "vendor=opaque", "baggage": "user=42",
            "headers": ["sentry-trace": "abc-def-1"], "x_count": 3,
        ]
        headers.merge(foreign) { _, new in new }
        envelope = .object((envelope.objectValue ?? [:]).merging(["headers": .object(headers)]) { _, new in new })
        let decoded = try MessageCodec.decode(Data(envelope.jsonBytes))
        #expect(decoded.otherHeaders == foreign)
        let again = try JSONValue(parsing: MessageCodec.encode(decoded))
        for (key, value) in foreign { #expect(again["headers"]?[key] == value) }
        #expect(try MessageCodec.decode(Data(again.jsonBytes)) == decoded)
    }

    /// A header of the codec's own wins over another of the same name.
    @Test func ownHeadersWinOverOtherHeaders() throws {
        var message = TaskMessage(task: "t.add", id: "own")
        message.otherHeaders = ["id": "theirs", "baggage": "k=v"]
        let headers = try JSONValue(parsing: MessageCodec.encode(message))["headers"]
        #expect(headers?["id"] == "own")
        #expect(headers?["baggage"] == "k=v")
    }

    /// On Linux, `JSONDecoder` says only "not valid JSON"; the codec names the cause.
    @Test(arguments: [
        (
            Data(#"{"body": "W10=", "headers": {"#.utf8),
            "invalid JSON envelope: Unexpected end of file during JSON parse."
        ),
        (
            Self.envelope(body: Data([0x5B, 0x5B, 0x22, 0x63, 0xC3, 0x22, 0x5D, 0x2C, 0x7B, 0x7D, 0x5D])),
            "the body is not [args, kwargs, embed]: Invalid UTF-8 sequence 2 bytes starting from character 3."
        ),
        (
            Self.envelope(
                body: Data(
                    ("[" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
                        + ", {}, {}]").utf8)),
            "the body is not [args, kwargs, embed]: Too many nested arrays or dictionaries around character 513."
        ),
        (
            Self.envelope(
                body: Data(#"{"task": "t.add", "id": "x", "args": [1, 2], "kwargs": {}}"#.utf8), headers: false),
            "protocol v1 messages are not supported; send protocol v2"
        ),
    ])
    func malformedInputIsRejectedWithItsCause(data: Data, reason: String) {
        do {
            _ = try MessageCodec.decode(data)
            Issue.record("decoded malformed input")
        } catch {
            #expect(error.reason == reason)
        }
    }

    /// A time limit that no sleep can hold (`1e19` seconds overflows the nanoseconds a sleep counts, `1e300` the
    /// conversion to a `Duration`), or a negative one, refuses the message with the reason; a good one is kept.
    static let positive = "must be a number of seconds greater than 0 and up to 3155760000 (100 years)"

    @Test(
        arguments: [
            ([1e19, nil], "headers.timelimit[0] \(positive), got 1e+19"),
            ([1e300, nil], "headers.timelimit[0] \(positive), got 1e+300"),
            ([nil, 1e19], "headers.timelimit[1] \(positive), got 1e+19"),
            ([-5, nil], "headers.timelimit[0] \(positive), got -5.0"),
            ([0, nil], "headers.timelimit[0] \(positive), got 0.0"),
        ] as [([Double?], String)])
    func outOfRangeTimeLimitIsRefused(limits: [Double?], reason: String) {
        var message = TaskMessage(task: "t.add", args: [1, 2])
        message.hardTimeLimit = limits[0]
        message.softTimeLimit = limits[1]
        do {
            _ = try MessageCodec.decode(MessageCodec.encode(message))
            Issue.record("decoded a time limit of \(limits)")
        } catch {
            #expect(error.reason == reason)
            #expect(error.taskId == message.id)
        }
    }

    @Test func timeLimitInRangeIsKept() throws {
        var message = TaskMessage(task: "t.add", args: [1, 2])
        message.hardTimeLimit = Seconds.limit
        message.softTimeLimit = 0.5
        let decoded = try MessageCodec.decode(MessageCodec.encode(message))
        #expect(decoded.hardTimeLimit == Seconds.limit)
        #expect(decoded.softTimeLimit == 0.5)
    }

    /// A signature's send options are checked where it becomes a message: in a client's send, and in a worker
    /// that sends the next step of a chain.
    @Test(
        arguments: [
            (
                ["countdown": 1e300],
                "countdown must be a number of seconds from 0 up to 3155760000 (100 years), got 1e+300"
            ),
            (["countdown": -1], "countdown must be a number of seconds from 0 up to 3155760000 (100 years), got -1.0"),
            (["expires": 1e19], "expires must be a number of seconds from 0 up to 3155760000 (100 years), got 1e+19"),
            (
                ["time_limit": 1e300],
                "time_limit must be a number of seconds greater than 0 and up to 3155760000 (100 years), got 1e+300"
            ),
            (
                ["soft_time_limit": -2],
                "soft_time_limit must be a number of seconds greater than 0 and up to 3155760000 (100 years), got -2.0"
            ),
            (["eta": "tomorrow"], "eta 'tomorrow' is not ISO-8601"),
            (["priority": 256], "priority must be 0 to 255, got 256"),
        ] as [([String: JSONValue], String)])
    func outOfRangeSendOptionIsRefused(options: [String: JSONValue], reason: String) {
        do {
            _ = try TaskMessage(Signature("t.add", options: options), queue: "celery", now: Date())
            Issue.record("made a message with \(options)")
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func sendOptionsInRangeMakeAMessage() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let message = try TaskMessage(
            Signature("t.add", options: ["countdown": 10, "time_limit": 5, "priority": 3, "task_id": "id-1"]),
            queue: "celery", now: now)
        #expect(message.id == "id-1")
        #expect(message.priority == 3)
        #expect(message.hardTimeLimit == 5)
        #expect(message.eta == now.addingTimeInterval(10))
    }

    @Test func emptyTaskNameIsRefused() {
        #expect { try TaskMessage(Signature(""), queue: "celery", now: Date()) } throws: {
            ($0 as? MessageError)?.reason == "the task name is empty"
        }
    }

    /// Dates outside Python's years 1 to 9999 are written at the nearest end of that range instead of trapping.
    @Test func formatsAnyDate() {
        #expect(ISODate.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.000000+00:00")
        #expect(ISODate.format(Date(timeIntervalSince1970: -1e300)) == "0001-01-01T00:00:00.000000+00:00")
        #expect(ISODate.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000+00:00")
    }

    /// An envelope for `t.add` whose body, before base64, is `body`; protocol v1 sends no headers.
    static func envelope(body: Data, headers: Bool = true) -> Data {
        var message = TaskMessage(task: "t.add", args: [1, 2])
        message.deliveryTag = "tag"
        var envelope = try! JSONSerialization.jsonObject(with: MessageCodec.encode(message)) as! [String: Any]
        envelope["body"] = body.base64EncodedString()
        if !headers { envelope["headers"] = [String: Any]() }
        return try! JSONSerialization.data(withJSONObject: envelope)
    }
}
