import Foundation
import Simul
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
        let decoded = try MessageCodec.decode(MessageCodec.encode(message))
        #expect(decoded == message)
    }

    /// On Linux, `JSONDecoder` says only "not valid JSON"; the codec names the cause.
    @Test(arguments: [
        (Data(#"{"body": "W10=", "headers": {"#.utf8),
         "invalid JSON envelope: Unexpected end of file during JSON parse."),
        (Self.envelope(body: Data([0x5B, 0x5B, 0x22, 0x63, 0xC3, 0x22, 0x5D, 0x2C, 0x7B, 0x7D, 0x5D])),
         "the body is not [args, kwargs, embed]: Invalid UTF-8 sequence 2 bytes starting from character 3."),
        (Self.envelope(body: Data(("[" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
                                   + ", {}, {}]").utf8)),
         "the body is not [args, kwargs, embed]: Too many nested arrays or dictionaries around character 513."),
        (Self.envelope(body: Data(#"{"task": "t.add", "id": "x", "args": [1, 2], "kwargs": {}}"#.utf8), headers: false),
         "protocol v1 messages are not supported; send protocol v2"),
    ])
    func malformedInputIsRejectedWithItsCause(data: Data, reason: String) {
        do {
            _ = try MessageCodec.decode(data)
            Issue.record("decoded malformed input")
        } catch {
            #expect(error.reason == reason)
        }
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
