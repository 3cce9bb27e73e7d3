import Foundation
import Simul
import SimulJSON
import SimulQueue
import SimulQueueTestSupport
import SimulSQLite
import SimulTestSupport
import Testing

@Suite(.timeLimit(.minutes(3))) struct BeatTests {
    // MARK: Intervals

    @Test(arguments: [1.0, 7, 10, 60, 3600, 0.1, 0.7, 2.5])
    func intervalSlotsAreMultiplesSinceTheEpoch(seconds: Double) {
        let schedule = Schedule.every(seconds: seconds)
        var date = Date(timeIntervalSince1970: 1_700_000_000.123)
        for _ in 0..<200 {
            let slot = schedule.nextSlot(after: date)
            #expect(slot > date)
            #expect(slot.timeIntervalSince(date) <= seconds + 1e-6)
            let index = (slot.timeIntervalSince1970 / seconds).rounded()
            #expect(abs(slot.timeIntervalSince1970 - index * seconds) < 1e-6)
            date = slot
        }
    }

    @Test func intervalNextSlotOnKnownDates() {
        let schedule = Schedule.every(seconds: 10)
        #expect(schedule.nextSlot(after: at(1_000_000_003)) == at(1_000_000_010))
        #expect(schedule.nextSlot(after: at(1_000_000_009.999)) == at(1_000_000_010))
        #expect(schedule.nextSlot(after: at(1_000_000_010)) == at(1_000_000_020))
        #expect(
            Schedule.every(seconds: 3600).nextSlot(after: utc("2024-05-01T10:59:59Z")) == utc("2024-05-01T11:00:00Z"))
    }

    /// Each slot's successor is strictly later, even where `k * seconds / seconds` rounds below `k`; otherwise a
    /// beat would claim the same slot forever.
    @Test(arguments: [0.1, 0.3, 0.7, 1.1, 7.3])
    func fractionalIntervalSlotsAlwaysMoveForward(seconds: Double) {
        let schedule = Schedule.every(seconds: seconds)
        for first in [0, Int(1_700_000_000 / seconds)] {
            var stuck: [Int] = []
            for index in first..<(first + 2_000) {
                let slot = Date(timeIntervalSince1970: Double(index) * seconds)
                let next = schedule.nextSlot(after: slot)
                if !(next > slot && abs(next.timeIntervalSince(slot) - seconds) < 1e-6) { stuck.append(index) }
            }
            #expect(stuck.isEmpty, "slots (as multiples of \(seconds)s) whose next slot is not one interval later")
        }
    }

    @Test func aTickOverAFractionalIntervalSendsEachSlotAndEnds() async throws {
        let broker = MemoryBroker()
        let entry = BeatEntry(name: "fast", task: "t.add", args: [1, 2], schedule: .every(seconds: 0.7))
        let beat = Beat(entries: [entry], client: QueueClient(broker: broker, backend: broker), claims: broker)
        let start = at(1_700_000_000)
        #expect(try await beat.tick(from: start, to: start.addingTimeInterval(7)) == 10)
        #expect(try await queued(broker) == 10)
    }

    // MARK: Crontabs

    @Test func everyFifteenMinutes() throws {
        let schedule = Schedule.crontab(try Crontab("*/15 * * * *"))
        #expect(schedule.nextSlot(after: utc("2024-03-10T10:07:30Z")) == utc("2024-03-10T10:15:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-03-10T10:15:00Z")) == utc("2024-03-10T10:30:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-03-10T10:45:00Z")) == utc("2024-03-10T11:00:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-12-31T23:59:59Z")) == utc("2025-01-01T00:00:00Z"))
    }

    @Test func nineOnWeekdays() throws {
        let schedule = Schedule.crontab(try Crontab("0 9 * * 1-5"))
        // 2024-01-05 is a Friday.
        #expect(schedule.nextSlot(after: utc("2024-01-05T08:59:59Z")) == utc("2024-01-05T09:00:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-01-05T09:00:00Z")) == utc("2024-01-08T09:00:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-01-06T12:00:00Z")) == utc("2024-01-08T09:00:00Z"))
        #expect(schedule.nextSlot(after: utc("2024-01-08T09:00:00Z")) == utc("2024-01-09T09:00:00Z"))
    }

    @Test func listsRangesAndSundayAsSeven() throws {
        let lists = Schedule.crontab(try Crontab("0,30 8,17 * * *"))
        #expect(lists.nextSlot(after: utc("2024-01-01T08:10:00Z")) == utc("2024-01-01T08:30:00Z"))
        #expect(lists.nextSlot(after: utc("2024-01-01T08:30:00Z")) == utc("2024-01-01T17:00:00Z"))
        #expect(lists.nextSlot(after: utc("2024-01-01T17:30:00Z")) == utc("2024-01-02T08:00:00Z"))
        // 2024-01-07 is a Sunday: 7 and 0 both name it.
        let sunday = Schedule.crontab(try Crontab("0 0 * * 7"))
        #expect(sunday.nextSlot(after: utc("2024-01-03T00:00:00Z")) == utc("2024-01-07T00:00:00Z"))
        #expect(sunday == Schedule.crontab(try Crontab("0 0 * * 7")))
        let stepped = Schedule.crontab(try Crontab("5-50/20 1-3,22 1 */6 *"))
        #expect(stepped.nextSlot(after: utc("2024-02-10T00:00:00Z")) == utc("2024-07-01T01:05:00Z"))
        #expect(stepped.nextSlot(after: utc("2024-07-01T03:45:00Z")) == utc("2024-07-01T22:05:00Z"))
        // 29 February comes once in four years.
        let leap = Schedule.crontab(try Crontab("0 12 29 2 *"))
        #expect(leap.nextSlot(after: utc("2024-03-01T00:00:00Z")) == utc("2028-02-29T12:00:00Z"))
    }

    @Test(arguments: [
        ("* * * *", "crontab '* * * *' needs 5 fields (minute hour day month weekday), got 4"),
        ("0 0 * * * *", "crontab '0 0 * * * *' needs 5 fields (minute hour day month weekday), got 6"),
        ("", "crontab '' needs 5 fields (minute hour day month weekday), got 0"),
        ("60 * * * *", "crontab minute field '60': '60' is not in 0...59"),
        ("0 24 * * *", "crontab hour field '24': '24' is not in 0...23"),
        ("0 0 0 * *", "crontab day of month field '0': '0' is not in 1...31"),
        ("0 0 * 13 *", "crontab month field '13': '13' is not in 1...12"),
        ("0 0 * * 8", "crontab day of week field '8': '8' is not in 0...7"),
        ("1,x * * * *", "crontab minute field '1,x': 'x' is not in 0...59"),
        ("-5 * * * *", "crontab minute field '-5': '-5' is not in 0...59"),
        ("10-5 * * * *", "crontab minute field '10-5': bad range '10-5'"),
        ("1-60 * * * *", "crontab minute field '1-60': bad range '1-60'"),
        ("1- * * * *", "crontab minute field '1-': bad range '1-'"),
        ("*/0 * * * *", "crontab minute field '*/0': bad step '0'"),
        ("0 */x * * *", "crontab hour field '*/x': bad step 'x'"),
        ("5/ * * * *", "crontab minute field '5/': bad step ''"),
    ])
    func badCrontabsSayWhatIsWrong(text: String, message: String) {
        #expect(throws: QueueError.invalidArgument(message)) { try Crontab(text) }
    }

    // MARK: Two beats

    @Test(arguments: BrokerKind.allCases)
    func twoBeatsSendEachSlotOnce(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (first, second) = try beats(kind, scratch)
        let start = at(1_000_000_000)
        let end = start.addingTimeInterval(60)
        let sentByFirst = try await first.tick(from: start, to: end)
        let sentBySecond = try await second.tick(from: start, to: end)
        #expect(sentByFirst == 6)
        #expect(sentBySecond == 0)
        #expect(try await queued(first.client.broker) == 6)
        // The next window continues where this one ended: (end, end + 20] holds two new slots.
        #expect(try await second.tick(from: end, to: end.addingTimeInterval(20)) == 2)
        #expect(try await first.tick(from: start, to: end.addingTimeInterval(20)) == 0)
        #expect(try await queued(first.client.broker) == 8)
    }

    @Test(arguments: BrokerKind.allCases)
    func twoBeatsTickingAtOnceSendEachSlotOnce(kind: BrokerKind) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (first, second) = try beats(kind, scratch)
        let start = at(1_000_000_000)
        let end = start.addingTimeInterval(60)
        let sent = try await withThrowingTaskGroup(of: Int.self) { group in
            for beat in [first, second] { group.addTask { try await beat.tick(from: start, to: end) } }
            return try await group.reduce(0, +)
        }
        #expect(sent == 6)
        #expect(try await queued(first.client.broker) == 6)
    }

    // MARK: Helpers

    struct BeatOnBroker: Sendable {
        let beat: Beat
        let client: QueueClient

        func tick(from: Date, to: Date) async throws -> Int { try await beat.tick(from: from, to: to) }
    }

    /// Two beats with the same entry; for SQLite, each with its own broker on the same file, as two processes.
    private func beats(_ kind: BrokerKind, _ scratch: ScratchDirectory) throws -> (BeatOnBroker, BeatOnBroker) {
        let shared = try kind.make(in: scratch)
        let other = kind == .sqlite ? try kind.make(in: scratch) : shared
        let entry = BeatEntry(name: "tick", task: "t.add", args: [1, 2], schedule: .every(seconds: 10))
        func beat(_ broker: any TestBroker) -> BeatOnBroker {
            let client = QueueClient(broker: broker, backend: broker)
            return BeatOnBroker(beat: Beat(entries: [entry], client: client, claims: broker), client: client)
        }
        return (beat(shared), beat(other))
    }

    private func queued(_ broker: any Broker) async throws -> Int {
        try await broker.require(.queueAdministration).queueLengths()["celery", default: 0]
    }

    private func at(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    private func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
}
