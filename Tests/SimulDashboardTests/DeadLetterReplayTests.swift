import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SimulDashboard
import SimulQueue
import Testing

/// Replaying a dead letter the broker kept only the head of is refused with the broker's reason.
@Suite(.timeLimit(.minutes(3))) struct DeadLetterReplayTests {
    @Test func aTruncatedDeadLetterIsRefusedAsABadRequest() async throws {
        let fixture = try await Fixture(token: SecurityTests.token)
        let body = Data(repeating: UInt8(ascii: "x"), count: 100_000)
        let delivery = Delivery(tag: "t1", queue: "celery", body: body, redelivered: false)
        try await fixture.broker.commit(BrokerCommit(deadLetter: [(delivery, "too big")]))
        let letter = try #require(try await fixture.broker.deadLetters(limit: 1).first)
        #expect(letter.isTruncated)
        let headers = SecurityTests.form.with(.authorization, "Bearer \(SecurityTests.token)")
        try await fixture.application.test(.router) { client in
            try await client.execute(
                uri: "/actions/replay", method: .post, headers: headers, body: SecurityTests.body("id=\(letter.id)")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(
                    response.text == #"{"error":"dead letter 1 cannot be replayed: only the first 65536 of its "#
                        + #"100000 bytes were kept (sha256 \#(letter.sha256))"}"#)
            }
        }
        #expect(try await fixture.broker.deadLetters(limit: 10).count == 1)
    }
}
