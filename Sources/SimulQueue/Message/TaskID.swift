import Foundation

/// Task ids: lowercase UUID strings, as Celery makes them.
public enum TaskID {
    /// A new random id.
    public static func make() -> String { UUID().uuidString.lowercased() }

    /// Whether `text` is a UUID in any case.
    public static func isValid(_ text: String) -> Bool { UUID(uuidString: text) != nil }
}
