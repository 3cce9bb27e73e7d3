public import Foundation

/// When a periodic task fires: every so many seconds, or on a crontab.
///
/// Slots are absolute: an interval's slots are multiples of it since the Unix epoch, a crontab's are the minutes it
/// matches. Two beats therefore agree on every slot, and claiming the slot lets only one of them send it.
public enum Schedule: Sendable, Equatable {
    /// Every `seconds` seconds.
    case every(seconds: Double)
    /// On the minutes a crontab matches, in UTC.
    case crontab(Crontab)

    /// The first slot strictly after `date`.
    public func nextSlot(after date: Date) -> Date {
        switch self {
        case .every(let seconds):
            let index = (date.timeIntervalSince1970 / seconds).rounded(.down) + 1
            let slot = Date(timeIntervalSince1970: index * seconds)
            // The division can round `k * seconds / seconds` below `k`, giving `date` back: take the one after.
            return slot > date ? slot : Date(timeIntervalSince1970: (index + 1) * seconds)
        case .crontab(let crontab):
            return crontab.nextMatch(after: date)
        }
    }
}

/// A five-field crontab (`minute hour day-of-month month day-of-week`) with `*`, `*/n`, `a-b`, `a-b/n` and lists.
public struct Crontab: Sendable, Equatable, CustomStringConvertible {
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    public let description: String

    /// Parses `text`.
    /// - Throws: ``QueueError`` naming the field that is wrong.
    public init(_ text: String) throws(QueueError) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw .invalidArgument(
                "crontab '\(text)' needs 5 fields (minute hour day month weekday), got \(fields.count)")
        }
        minutes = try Self.parse(fields[0], 0...59, "minute")
        hours = try Self.parse(fields[1], 0...23, "hour")
        days = try Self.parse(fields[2], 1...31, "day of month")
        months = try Self.parse(fields[3], 1...12, "month")
        weekdays = Set(try Self.parse(fields[4], 0...7, "day of week").map { $0 % 7 })
        description = text
    }

    /// The first matching minute strictly after `date`.
    func nextMatch(after date: Date) -> Date {
        var minute = (date.timeIntervalSince1970 / 60).rounded(.down) + 1
        // Every valid crontab matches within four years (29 February on a Monday needs the longest).
        for _ in 0..<(4 * 366 * 24 * 60) {
            var time = time_t(minute * 60)
            var parts = tm()
            gmtime_r(&time, &parts)
            if minutes.contains(Int(parts.tm_min)), hours.contains(Int(parts.tm_hour)),
                days.contains(Int(parts.tm_mday)), months.contains(Int(parts.tm_mon) + 1),
                weekdays.contains(Int(parts.tm_wday))
            {
                return Date(timeIntervalSince1970: minute * 60)
            }
            minute += 1
        }
        return .distantFuture
    }

    private static func parse(_ field: String, _ range: ClosedRange<Int>, _ name: String) throws(QueueError) -> Set<Int>
    {
        var values = Set<Int>()
        for part in field.split(separator: ",").map(String.init) {
            let pieces = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw .invalidArgument("crontab \(name) field '\(field)': bad step '\(pieces[1])'")
                }
                step = parsed
            }
            var low = range.lowerBound
            var high = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    .map { Int($0) }
                guard let first = bounds.first ?? nil, range.contains(first) else {
                    throw .invalidArgument("crontab \(name) field '\(field)': '\(pieces[0])' is not in \(range)")
                }
                low = first
                high = pieces.count == 2 && bounds.count == 1 ? range.upperBound : first
                if bounds.count == 2 {
                    guard let last = bounds[1], range.contains(last), last >= first else {
                        throw .invalidArgument("crontab \(name) field '\(field)': bad range '\(pieces[0])'")
                    }
                    high = last
                }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }
}
