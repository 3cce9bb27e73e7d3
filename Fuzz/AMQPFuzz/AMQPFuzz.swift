import NIOCore
import SimulAMQPWire

// libFuzzer's entry point for SimulAMQPWire; `scripts/fuzz.sh amqp` builds and runs it.
//
// For every input it checks that
// - the frame parser never crashes, hangs or overflows (AddressSanitizer watches memory), and gives the same frames
//   and the same error whether the bytes come at once or in small pieces;
// - every frame it returns writes back to the bytes it came from;
// - every method and content header that decodes writes back to a payload that decodes to the same thing (or, for
//   values holding NaN, to the same bytes), unless the writer refuses it: a short string that was not UTF-8 reads
//   with replacement characters, which can make it longer than a short string holds.

/// Everything a parser made of one stream: its frames, then the error that stopped it, if one did.
private struct Outcome {
    var frames: [AMQPFrame] = []
    var error: AMQPWireError?
}

/// Parses `bytes` fed `chunk` bytes at a time.
private func parse(_ bytes: UnsafeRawBufferPointer, chunk: Int, maxFrameSize: Int) -> Outcome {
    var parser = AMQPFrameParser(maxFrameSize: maxFrameSize)
    var buffer = ByteBuffer()
    var outcome = Outcome()
    var start = 0
    while start < bytes.count {
        let end = min(start + chunk, bytes.count)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        start = end
        do {
            while let frame = try parser.next(from: &buffer) { outcome.frames.append(frame) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

private func checkFrame(_ frame: AMQPFrame) {
    var bytes = ByteBuffer()
    frame.write(to: &bytes)
    var parser = AMQPFrameParser(maxFrameSize: 0)
    guard let again = try? parser.next(from: &bytes), bytes.readableBytes == 0 else {
        fatalError("the frame \(frame) does not parse back as one whole frame")
    }
    precondition(again == frame, "\(frame) parses back as \(again)")
    switch frame.kind {
    case .method:
        guard let method = try? AMQPMethod(payload: frame.payload) else { return }
        var payload = ByteBuffer()
        guard (try? method.write(to: &payload)) != nil else { return }
        guard let decoded = try? AMQPMethod(payload: payload) else {
            fatalError("\(method.name) writes a payload that does not decode")
        }
        var again = ByteBuffer()
        try? decoded.write(to: &again)
        precondition(decoded == method || again == payload, "\(method) decodes back as \(decoded)")
    case .header:
        guard let header = try? AMQPContentHeader(payload: frame.payload) else { return }
        var payload = ByteBuffer()
        guard (try? header.write(to: &payload)) != nil else { return }
        guard let decoded = try? AMQPContentHeader(payload: payload) else {
            fatalError("a content header writes a payload that does not decode")
        }
        var again = ByteBuffer()
        try? decoded.write(to: &again)
        precondition(decoded == header || again == payload, "\(header) decodes back as \(decoded)")
    case .body, .heartbeat:
        break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAMQPWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let maxFrameSize = size > 0 && data[0] & 1 == 1 ? 4_096 : 0
    let whole = parse(bytes, chunk: max(size, 1), maxFrameSize: maxFrameSize)
    for frame in whole.frames { checkFrame(frame) }
    let chunk = size == 0 ? 1 : 1 + Int(data[0] % 7)
    let pieces = parse(bytes, chunk: chunk, maxFrameSize: maxFrameSize)
    precondition(
        pieces.frames == whole.frames && pieces.error == whole.error,
        "\(chunk)-byte pieces parse differently from the whole input")
    return 0
}
