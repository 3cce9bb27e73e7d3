import NIOCore
import SimulRESP

// libFuzzer's entry point for RESPParser; scripts/fuzz-resp.sh builds and runs it.
//
// For every input it checks that the parser
// - never crashes, hangs or overflows (AddressSanitizer watches memory);
// - gives the same values and the same error whether the bytes come at once or in small pieces;
// - round-trips: every value it returns re-encodes, and the encoding parses back to the same value (or, for
//   values holding NaN, one with the same encoding).

/// Everything a parser made of one stream: its values, then the error that stopped it, if one did.
private struct Outcome {
    var values: [RESPValue] = []
    var error: RESPError?
}

private func encoded(_ value: RESPValue) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeRESPValue(value)
    return buffer
}

private func containsNaN(_ value: RESPValue) -> Bool {
    switch value {
    case .double(let double): double.isNaN
    case .array(let elements), .map(let elements), .set(let elements), .push(let elements):
        elements.contains(where: containsNaN)
    default: false
    }
}

/// Equal values, or (as NaN is unequal to itself) values with the same encoding.
private func same(_ first: RESPValue, _ second: RESPValue) -> Bool {
    first == second || (containsNaN(first) && encoded(first) == encoded(second))
}

/// Parses `bytes` fed `chunk` bytes at a time.
private func parse(_ bytes: UnsafeRawBufferPointer, chunk: Int) -> Outcome {
    var parser = RESPParser()
    var buffer = ByteBuffer()
    var outcome = Outcome()
    var start = 0
    while start < bytes.count {
        let end = min(start + chunk, bytes.count)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        start = end
        do {
            while let value = try parser.next(from: &buffer) { outcome.values.append(value) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

private func checkRoundTrip(_ value: RESPValue) {
    var bytes = encoded(value)
    var parser = RESPParser()
    let again: RESPValue?
    do {
        again = try parser.next(from: &bytes)
    } catch {
        fatalError("the encoding of \(value) does not parse: \(error)")
    }
    guard let again, bytes.readableBytes == 0 else {
        fatalError("the encoding of \(value) does not parse to one whole value")
    }
    precondition(same(value, again), "\(value) parses back as \(again)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parse(bytes, chunk: max(size, 1))
    for value in whole.values { checkRoundTrip(value) }
    let chunk = size == 0 ? 1 : 1 + Int(data[0] % 7)
    let pieces = parse(bytes, chunk: chunk)
    precondition(
        whole.error == pieces.error && whole.values.count == pieces.values.count
            && zip(whole.values, pieces.values).allSatisfy(same),
        "fed whole: \(whole), fed in \(chunk)-byte pieces: \(pieces)"
    )
    return 0
}
