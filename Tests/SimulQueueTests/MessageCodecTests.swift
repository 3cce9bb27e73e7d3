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
}
