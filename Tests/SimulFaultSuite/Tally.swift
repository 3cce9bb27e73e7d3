import Foundation
import Simul
import SimulJSON
import SimulProcessSupport

/// One named check of a scenario, printed in its notes, and `FAILED` after its name when it did not hold.
struct Check {
    var name: String
    var passed: Bool

    init(_ name: String, _ passed: Bool) {
        self.name = name
        self.passed = passed
    }

    /// The check holds if `condition` returns true; a condition that throws (other than ``Interrupted``) fails it,
    /// as a failing command did in the shell's `check`.
    init(_ name: String, _ condition: () throws -> Bool) throws {
        do {
            self.init(name, try condition())
        } catch let error as Interrupted {
            throw error
        } catch {
            self.init(name, false)
        }
    }
}

/// A message that must fail or be dead-lettered rather than succeed: a malformed message or a crashing task, with
/// the verdict the worker must reach.
struct BadMessage {
    /// Its kind: `not-base64`, `segfault`, ...
    var kind: String
    /// The task id it names, or `nil` for one that names none (invalid JSON, protocol v1).
    var id: String?
    /// The start of its dead letter's reason, if it must be dead-lettered.
    var deadLetter: String?
    /// The exception type and a text in its message, for the FAILURE it must have stored under its id.
    var failure: (type: String, text: String)?
}

/// What one scenario's data says, counted as docs/faults.md ("How it counts") describes: nothing is inferred from
/// what should have happened.
struct Tally {
    /// Ids of good tasks, one per line of `simul send`'s output: each must end SUCCESS.
    var good: [String] = []
    /// Messages that must fail or be dead-lettered.
    var bad: [BadMessage] = []
    /// `simul result --json` lines, by task id.
    var results: [String: JSONValue] = [:]
    /// `simul dead-letters list --json`.
    var deadLetters: [JSONValue] = []
    /// The lines `simul.record` appended: one task id per execution.
    var records: [String] = []
    /// The duplicates the scenario allows, checked if given.
    var maxDuplicates: Int?
    /// The scenario's own checks.
    var checks: [Check] = []
    /// Notes after the checks.
    var notes: [String] = []
    /// Name each bad message's failure in the notes (the crash scenario).
    var showFailures = false
    /// Instead of counting ``good`` and ``bad``.
    var sent: Int?
    /// Instead of counting SUCCESS results (the soak's expire).
    var completed: Int?
    /// Losses are measured, not failed: a row that shows what a setting known to lose (a Sentinel failover without
    /// `wait_replicas`) loses.
    var lossIsMeasured = false

    /// The row: the counts, the checks and notes, and whether nothing was lost and every check held.
    func row(scenario: String, broker: String, seconds: String) -> Row {
        let goodDone = good.filter { results[$0]?.objectValue?["status"]?.stringValue == "SUCCESS" }.count
        // Bad messages: the FAILURE by id; the dead letter by id, or, for one that names no id, by its reason.
        var deadByID: [String: [String]] = [:]
        var anonymous: [String] = []
        for letter in deadLetters {
            let reason = letter.objectValue?["reason"]?.stringValue ?? ""
            if let id = letter.objectValue?["task_id"]?.stringValue, !id.isEmpty {
                deadByID[id, default: []].append(reason)
            } else {
                anonymous.append(reason)
            }
        }
        var badDone = 0
        var unaccounted: [String: Int] = [:]
        for message in bad {
            var ok = true
            if let failure = message.failure {
                ok = ok && Self.failure(results[message.id ?? ""], matches: failure)
            }
            if let deadLetter = message.deadLetter {
                if let id = message.id {
                    ok = ok && deadByID[id, default: []].contains { $0.hasPrefix(deadLetter) }
                } else if let match = anonymous.firstIndex(where: { $0.hasPrefix(deadLetter) }) {
                    anonymous.remove(at: match)
                } else {
                    ok = false
                }
            }
            if ok { badDone += 1 } else { unaccounted[message.kind, default: 0] += 1 }
        }

        let sent = self.sent ?? good.count + bad.count
        let completed = self.completed ?? goodDone + badDone
        let lost = sent - completed
        let distinct = Set(records)
        let duplicates = records.count - distinct.count
        let strangers = distinct.subtracting(good).count

        var checks = self.checks
        if let maxDuplicates {
            checks.append(Check("duplicates \(duplicates) <= bound \(maxDuplicates)", duplicates <= maxDuplicates))
        }
        if strangers > 0 { checks.append(Check("\(strangers) recorded ids were never sent", false)) }
        var notes: [String] = []
        if !bad.isEmpty {
            notes.append(
                "\(good.count) good: \(goodDone) SUCCESS; \(bad.count) bad: \(badDone) failed/dead-lettered "
                    + "with the expected reason")
            if !unaccounted.isEmpty {
                notes.append(
                    "unaccounted: "
                        + unaccounted.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }
                        .joined(separator: ", "))
            }
        }
        notes += checks.map { $0.passed ? $0.name : $0.name + " FAILED" }
        if showFailures { notes += bad.map { "\($0.kind): \(Self.summary(results[$0.id ?? ""]))" } }
        notes += self.notes
        if lossIsMeasured { notes.append("a measurement: \(lost) lost, which this row allows") }
        return Row(
            scenario: scenario, broker: broker, sent: "\(sent)", completed: "\(completed)", lost: "\(lost)",
            duplicates: "\(duplicates)", seconds: seconds, notes: notes.joined(separator: "; "),
            passed: (lost == 0 || lossIsMeasured) && checks.allSatisfy(\.passed), executions: records.count)
    }

    /// Whether `result` is a FAILURE of the expected type whose message contains the expected text. An empty text
    /// matches any message, as Python's `"" in text` does (Foundation's `contains("")` is false).
    private static func failure(_ result: JSONValue?, matches expected: (type: String, text: String)) -> Bool {
        guard let result = result?.objectValue, result["status"]?.stringValue == "FAILURE",
            let failure = result["result"]?.objectValue
        else { return false }
        return failure["exc_type"]?.stringValue == expected.type
            && (expected.text.isEmpty || message(of: failure).contains(expected.text))
    }

    /// A failure's `exc_message` as Python's `str()` shows it, a list's items joined by spaces for ``summary(_:)``.
    private static func message(of failure: [String: JSONValue], joined: Bool = false) -> String {
        switch failure["exc_message"] {
        case .string(let text): text
        case .array(let items) where joined: items.map { $0.stringValue ?? $0.jsonText }.joined(separator: " ")
        case .array(let items):
            "[" + items.map { $0.stringValue.map { "'\($0)'" } ?? $0.jsonText }.joined(separator: ", ") + "]"
        case .none, .null: "None"
        case .some(let value): value.jsonText
        }
    }

    /// A failure in a few words: `WorkerLostError (signal 11, SIGSEGV)`, `TimeLimitExceeded (2.0 s)`.
    static func summary(_ result: JSONValue?) -> String {
        guard let failure = result?.objectValue?["result"]?.objectValue else {
            return result?.objectValue?["status"]?.stringValue ?? "PENDING"
        }
        let message = message(of: failure, joined: true)
        let type = failure["exc_type"]?.stringValue ?? "None"
        let detail: String
        if let signal = message.firstMatch(of: /signal (\d+) \((SIG[A-Z]+)/) {
            detail = "signal \(signal.1), \(signal.2)"
        } else if let code = message.firstMatch(of: /exited with code (\d+)/) {
            detail = "exit code \(code.1)"
        } else if type == "TimeLimitExceeded" {
            detail = "\(message) s"
        } else {
            detail = String(message.prefix(60))
        }
        return "\(type) (\(detail))"
    }
}

/// One line of the table.
struct Row {
    var scenario: String
    var broker: String
    var sent: String
    var completed: String
    var lost: String
    var duplicates: String
    var seconds: String
    var notes: String
    /// Whether the scenario passed; `nil` for one that did not run in this column.
    var passed: Bool?
    /// The executions recorded, for the progress line.
    var executions = 0

    /// A row for a scenario that does not run in this column, and why.
    static func skipped(_ scenario: String, broker: String, because reason: String) -> Row {
        Row(
            scenario: scenario, broker: broker, sent: "-", completed: "-", lost: "-", duplicates: "-", seconds: "-",
            notes: reason, passed: nil)
    }

    /// The line printed when the scenario's row is added: `-- poison [sqlite]: ok: sent 1100, ...`.
    var progressLine: String {
        "-- \(scenario) [\(broker)]: \(passed == true ? "ok" : "FAILED"): sent \(sent), completed \(completed), "
            + "lost \(lost), duplicates \(duplicates) (\(executions) executions), \(seconds) s; \(notes)"
    }
}
