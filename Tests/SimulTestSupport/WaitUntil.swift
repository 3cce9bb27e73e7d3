/// The condition a ``waitUntil(_:timeout:_:)`` waited for did not hold in time.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "gave up waiting for: \(what)" }
}

/// Waits until `condition` holds, checking every millisecond, and fails after `timeout`: a generous safety net
/// for state the code under test exposes, never a way to order events by time.
/// - Throws: ``ConditionTimedOut`` when `timeout` passes first, or what `condition` throws.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(1))
    }
}
