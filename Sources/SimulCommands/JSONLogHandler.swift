import Foundation
import Logging
import SimulJSON
import SimulQueue

/// `simul worker --log-format json`: each log line is one JSON object on standard error, with `timestamp` (ISO 8601,
/// UTC), `level`, `label`, `message` and `metadata` (the handler's, the provider's, then the line's own).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line: JSONValue = [
            "timestamp": .string(ISODate.format(Date())), "level": .string(event.level.rawValue),
            "label": .string(label), "message": .string(event.message.description),
            "metadata": .object(merged.mapValues(Self.json)),
        ]
        FileHandle.standardError.write(Data(line.jsonBytes + [UInt8(ascii: "\n")]))
    }

    /// A metadata value as JSON: strings as strings, anything convertible by its description, lists and
    /// dictionaries as arrays and objects.
    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(values.mapValues(json))
        }
    }
}
