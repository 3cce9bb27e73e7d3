/// A W3C Trace Context `traceparent` value, `00-<trace id>-<parent span id>-<flags>`: what
/// opentelemetry-instrumentation-celery puts in a message's headers, and what OpenTelemetry passes to a process in
/// the `TRACEPARENT` environment variable.
package struct TraceParent: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    package var traceID: String
    /// 16 lowercase hex digits, not all zero: the span this context continues.
    package var spanID: String
    /// The trace flags; bit 0 is `sampled`.
    package var flags: UInt8

    package init(traceID: String, spanID: String, flags: UInt8) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// Parses `text` as the W3C recommendation says a receiver does: version `00` is exactly 55 characters; a later
    /// version may add fields after a `-`; version `ff`, an id of zeros, or anything but lowercase hex is invalid.
    package init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-")
        else { return nil }
        let version = bytes[0..<2]
        guard Self.isHex(version), version != [UInt8(ascii: "f"), UInt8(ascii: "f")] else { return nil }
        if version == [UInt8(ascii: "0"), UInt8(ascii: "0")] {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55, bytes[55] != UInt8(ascii: "-") {
            return nil
        }
        let trace = bytes[3..<35]
        let span = bytes[36..<52]
        let flags = bytes[53..<55]
        guard Self.isHex(trace), Self.isHex(span), Self.isHex(flags), trace.contains(where: { $0 != 0x30 }),
            span.contains(where: { $0 != 0x30 }),
            let flagBits = UInt8(String(decoding: flags, as: UTF8.self), radix: 16)
        else { return nil }
        self.init(
            traceID: String(decoding: trace, as: UTF8.self), spanID: String(decoding: span, as: UTF8.self),
            flags: flagBits)
    }

    /// The header's text, version `00`.
    package var text: String {
        let flagsText = String(flags, radix: 16)
        return "00-\(traceID)-\(spanID)-\(flagsText.count == 1 ? "0" + flagsText : flagsText)"
    }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
