import Crypto
package import Foundation

/// How much of its dead letters a broker keeps, so that messages every worker refuses cannot fill the broker.
///
/// An envelope longer than ``maxBodyBytes`` keeps only its head, with its full size and SHA-256; such a dead letter
/// can be read and identified but not replayed. Past ``maxCount`` letters or ``maxTotalBytes`` bytes, the broker drops
/// the oldest letters, logs it and counts it (``DeadLetterStore/droppedDeadLetters()``).
///
/// ```swift
/// var limits = DeadLetterLimits()
/// limits.maxCount = 1_000
/// let broker = try SQLiteBroker(path: "queue.sqlite", deadLetterLimits: limits)
/// ```
public struct DeadLetterLimits: Sendable, Equatable {
    /// The bytes of an envelope kept; a longer one keeps its head only. 64 KiB by default.
    public var maxBodyBytes: Int = 64 << 10
    /// The characters of a reason kept; a longer one is cut to its head and how long it was. 1,000 by default.
    public var maxReasonLength: Int = 1_000
    /// The dead letters kept; past it the oldest are dropped. 10,000 by default.
    public var maxCount: Int = 10_000
    /// The bytes of dead letters kept, as the broker stores them; past it the oldest are dropped. 64 MiB by default.
    public var maxTotalBytes: Int = 64 << 20

    /// The defaults.
    public init() {}

    /// Limits with the given values; the others keep their defaults.
    public init(
        maxBodyBytes: Int? = nil, maxReasonLength: Int? = nil, maxCount: Int? = nil, maxTotalBytes: Int? = nil
    ) {
        if let maxBodyBytes { self.maxBodyBytes = maxBodyBytes }
        if let maxReasonLength { self.maxReasonLength = maxReasonLength }
        if let maxCount { self.maxCount = maxCount }
        if let maxTotalBytes { self.maxTotalBytes = maxTotalBytes }
        precondition(
            self.maxBodyBytes >= 0 && self.maxReasonLength >= 0 && self.maxCount >= 1 && self.maxTotalBytes >= 1,
            "dead-letter limits must be positive")
    }

    /// What a broker stores for a delivery it dead-letters with `reason`: at most ``maxBodyBytes`` of its envelope,
    /// its full size and SHA-256, the reason cut to ``maxReasonLength``, and, when the envelope is cut, the task id
    /// and name it names (its head alone may not say).
    package func bound(_ body: Data, reason: String) -> BoundedDeadLetter {
        let cut = body.count > maxBodyBytes
        let (taskId, task) = cut ? MessageCodec.identify(body) : (nil, nil)
        return BoundedDeadLetter(
            body: cut ? body.prefix(maxBodyBytes) : body, size: body.count,
            sha256: DeadLetter.hexSHA256(of: body), reason: Self.cut(reason, to: maxReasonLength), taskId: taskId,
            task: task)
    }

    /// `text`, or, if it is longer than `limit` characters, its head and how long it was, `limit` characters in all
    /// (so a text cut once, by the worker, is not cut again by the broker).
    package static func cut(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        let note = "… (cut: \(text.count) characters)"
        return text.prefix(max(0, limit - note.count)) + note
    }

    /// The log line for `count` letters dropped, `total` so far.
    package func dropMessage(_ count: Int, total: Int64) -> String {
        "dropped the \(count) oldest dead letter\(count == 1 ? "" : "s") to keep at most \(maxCount) letters and "
            + "\(maxTotalBytes) bytes (\(total) dropped so far)"
    }
}

/// A dead letter as a broker stores it, bounded by ``DeadLetterLimits``.
package struct BoundedDeadLetter: Sendable {
    /// The envelope, or its head.
    package let body: Data
    /// The envelope's full size in bytes.
    package let size: Int
    /// The SHA-256 of the whole envelope, in lowercase hex.
    package let sha256: String
    /// The reason, cut.
    package let reason: String
    /// The task id the whole envelope names, when its head is all that is kept.
    package let taskId: String?
    /// The task name the whole envelope names, when its head is all that is kept.
    package let task: String?
}

extension DeadLetter {
    /// The SHA-256 of `data`, in lowercase hex.
    package static func hexSHA256(of data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: data) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The error a replay of this letter meets when the broker kept only its head.
    package var replayRefusal: QueueError? {
        guard isTruncated else { return nil }
        return QueueError.invalidArgument(
            "dead letter \(id) cannot be replayed: only the first \(body.count) of its \(size) bytes were kept "
                + "(sha256 \(sha256))")
    }
}
