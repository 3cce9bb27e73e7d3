import Foundation
import SimulJSON
import SimulQueue

// libFuzzer's entry point for Simul's JSON parser and the Celery message codec; scripts/fuzz-json.sh builds and
// runs it.
//
// For every input it checks that
// - `JSONValue(parsing:)` never crashes, hangs or overflows (AddressSanitizer watches memory), and that every value
//   it returns writes back (`jsonBytes`) to text that parses to the same value, and that text is a fixed point;
// - `MessageCodec.decode` never crashes, on the input as a whole envelope and on the input as the base64 body of a
//   valid envelope (so the body's args, kwargs and embed are reached, not only the envelope's syntax); bytes that are
//   not JSON go to the codec one time in 8;
// - every message it decodes encodes to an envelope that decodes again and encodes to the same bytes.

/// A valid protocol v2 envelope around `body`, base64-encoded as kombu sends it.
private func envelope(body: Data) -> Data {
    let text = """
        {"body":"\(body.base64EncodedString())","content-encoding":"utf-8","content-type":"application/json",\
        "headers":{"id":"d4a5e3c0-0000-4000-8000-000000000000","task":"simul.add","lang":"py","retries":0,\
        "timelimit":[null,null],"eta":null,"expires":null},"properties":{"delivery_info":{"exchange":"",\
        "routing_key":"celery"},"body_encoding":"base64","delivery_tag":"tag","priority":0}}
        """
    return Data(text.utf8)
}

/// Equal values, or, for non-finite numbers (which JSON writes as `null`), values with the same JSON text.
private func same(_ first: JSONValue, _ second: JSONValue) -> Bool {
    first == second || first.jsonBytes == second.jsonBytes
}

private func checkRoundTrip(_ value: JSONValue) {
    let text = value.jsonBytes
    let again: JSONValue
    do {
        again = try JSONValue(parsing: text)
    } catch {
        fatalError("the JSON text of \(value) does not parse: \(error)")
    }
    precondition(same(value, again), "\(value) parses back as \(again)")
    precondition(again.jsonBytes == text, "\(value) is not a fixed point of parse and write")
}

private func checkCodec(_ data: Data) {
    guard let message = try? MessageCodec.decode(data) else { return }
    let encoded = MessageCodec.encode(message)
    let again: TaskMessage
    do {
        again = try MessageCodec.decode(encoded)
    } catch {
        fatalError("the encoding of a decoded message does not decode: \(error)")
    }
    precondition(MessageCodec.encode(again) == encoded, "a decoded message does not encode to a fixed point")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let value = try? JSONValue(parsing: bytes)
    if let value { checkRoundTrip(value) }
    // For bytes that are not JSON, the codec asks Foundation's JSONSerialization why, which is slow and not ours:
    // that path runs for one such input in 8, so the executions go to the codec's own checks.
    guard value != nil || size % 8 == 0 else { return 0 }
    let input = Data(bytes)
    checkCodec(input)
    checkCodec(envelope(body: input))
    return 0
}
