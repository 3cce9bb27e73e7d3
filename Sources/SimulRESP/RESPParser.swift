public import NIOCore

/// A streaming parser for RESP2 and RESP3 that reads values out of a growing `ByteBuffer`.
///
/// Call ``next(from:)`` whenever bytes arrive, with the same buffer (more bytes appended, the reader index where
/// the parser left it). It returns `nil` until a whole value is there, keeping the part of an aggregate it has
/// already read, so each byte is parsed once however the stream is split. It never recurses, and ``Limits`` bound
/// the nesting depth, the lengths and the counts, so hostile input can neither exhaust the stack nor make it
/// reserve memory that the input does not pay for. After it throws, the stream is unusable: close the connection.
///
/// ```swift
/// var parser = RESPParser()
/// var buffer = ByteBuffer(string: "*2\r\n$5\r\nhello\r\n:42\r\n")
/// let value = try parser.next(from: &buffer)  // .array([.bulkString("hello"), .integer(42)])
/// ```
public struct RESPParser: Sendable {
    /// Bounds on what the parser accepts; input beyond them throws ``RESPError``.
    public struct Limits: Sendable, Hashable {
        /// The longest bulk string, verbatim string or blob error, in bytes. Redis's own limit is 512 MB.
        public var maxBulkLength: Int
        /// How deeply aggregates (arrays, maps, sets, pushes, attributes) may nest.
        public var maxDepth: Int
        /// The most elements one aggregate may announce; a map of `n` pairs counts `2n`.
        public var maxAggregateCount: Int
        /// The longest simple string, error, number or big number line, in bytes.
        public var maxLineLength: Int

        /// Creates limits; the defaults accept anything a Redis server sends.
        /// - Parameters:
        ///   - maxBulkLength: the longest bulk string in bytes, 512 MiB by default.
        ///   - maxDepth: the deepest nesting of aggregates, 128 by default.
        ///   - maxAggregateCount: the most elements in one aggregate, 2^24 by default.
        ///   - maxLineLength: the longest line in bytes, 1 MiB by default.
        public init(
            maxBulkLength: Int = 512 * 1024 * 1024,
            maxDepth: Int = 128,
            maxAggregateCount: Int = 1 << 24,
            maxLineLength: Int = 1 << 20
        ) {
            precondition(maxBulkLength >= 0 && maxDepth >= 0, "RESPParser.Limits must not be negative")
            precondition(maxAggregateCount >= 0 && maxLineLength >= 0, "RESPParser.Limits must not be negative")
            self.maxBulkLength = maxBulkLength
            self.maxDepth = maxDepth
            self.maxAggregateCount = maxAggregateCount
            self.maxLineLength = maxLineLength
        }
    }

    private enum Kind {
        case array, map, set, push, attribute
    }

    /// An aggregate whose elements are still arriving.
    private struct Frame {
        var kind: Kind
        var remaining: Int
        var elements: [RESPValue]
    }

    private enum Token {
        case value(RESPValue)
        case aggregate(Kind, count: Int)
    }

    /// The limits this parser enforces.
    public let limits: Limits
    private var stack: [Frame] = []
    /// Bytes consumed since the parser started, so errors can say where in the stream they are.
    private var consumed = 0
    /// How many bytes of the line at the reader index are known to hold no CR or LF, so an incomplete line is not
    /// scanned again from its start when more bytes arrive.
    private var scanned = 0

    /// Creates a parser.
    /// - Parameter limits: the bounds to enforce; the defaults accept anything a Redis server sends.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Reads the next complete value from `buffer`.
    ///
    /// Consumes the bytes of every token it parses, including those of an aggregate that is not complete yet,
    /// and leaves the rest.
    /// - Parameter buffer: the stream's unread bytes.
    /// - Returns: the value, or `nil` if the buffer ends before the value does.
    /// - Throws: ``RESPError`` if the bytes are not RESP or break a limit.
    public mutating func next(from buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        tokens: while true {
            guard let token = try nextToken(from: &buffer) else { return nil }
            var value: RESPValue
            switch token {
            case .value(let parsed):
                value = parsed
            case .aggregate(let kind, let count) where count > 0:
                let reserved = min(count, max(16, buffer.readableBytes / 3))
                var elements: [RESPValue] = []
                elements.reserveCapacity(reserved)
                stack.append(Frame(kind: kind, remaining: count, elements: elements))
                continue tokens
            case .aggregate(.attribute, _):
                continue tokens
            case .aggregate(let kind, _):
                value = Self.aggregate(kind, [])
            }
            while !stack.isEmpty {
                let top = stack.count - 1
                stack[top].elements.append(value)
                stack[top].remaining -= 1
                if stack[top].remaining > 0 { continue tokens }
                let frame = stack.removeLast()
                if frame.kind == .attribute { continue tokens }
                value = Self.aggregate(frame.kind, frame.elements)
            }
            return value
        }
    }

    private static func aggregate(_ kind: Kind, _ elements: [RESPValue]) -> RESPValue {
        switch kind {
        case .array: .array(elements)
        case .map: .map(elements)
        case .set: .set(elements)
        case .push: .push(elements)
        case .attribute: preconditionFailure("attributes are skipped, never built")
        }
    }

    // MARK: - Tokens

    /// Parses the token at the reader index: a whole scalar, or an aggregate's header. Consumes it only if it is
    /// complete.
    private mutating func nextToken(from buffer: inout ByteBuffer) throws(RESPError) -> Token? {
        let start = buffer.readerIndex
        guard let marker = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        let offset = consumed
        guard Self.markers.contains(marker) else { throw .unknownType(marker, offset: offset) }
        guard let lineEnd = try findLineEnd(in: buffer, lineStart: start + 1, offset: offset) else { return nil }
        let line = start + 1
        let lineLength = lineEnd - line
        var end = lineEnd + 2
        let token: Token
        switch marker {
        case UInt8(ascii: "+"):
            token = .value(.simpleString(buffer.getSlice(at: line, length: lineLength)!))
        case UInt8(ascii: "-"):
            token = .value(.error(buffer.getString(at: line, length: lineLength)!))
        case UInt8(ascii: ":"):
            token = .value(.integer(try Self.integer(in: buffer, at: line, length: lineLength, offset: offset)))
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let length = try Self.integer(in: buffer, at: line, length: lineLength, offset: offset)
            if length == -1 && marker == UInt8(ascii: "$") {
                token = .value(.null)
                break
            }
            guard length >= 0 else { throw .negativeLength(length, offset: offset) }
            guard length <= limits.maxBulkLength else {
                throw .bulkTooLong(length, limit: limits.maxBulkLength, offset: offset)
            }
            guard buffer.writerIndex - end >= length + 2 else { return nil }
            guard buffer.getInteger(at: end + length, as: UInt16.self) == Self.crlf else {
                throw .missingTerminator(length: length, offset: offset)
            }
            let payload = buffer.getSlice(at: end, length: length)!
            end += length + 2
            switch marker {
            case UInt8(ascii: "$"): token = .value(.bulkString(payload))
            case UInt8(ascii: "!"): token = .value(.error(String(buffer: payload)))
            default: token = .value(try Self.verbatim(payload, offset: offset))
            }
        case UInt8(ascii: "_"):
            guard lineLength == 0 else {
                throw .invalidValue("null", Self.excerpt(buffer, at: line, length: lineLength), offset: offset)
            }
            token = .value(.null)
        case UInt8(ascii: "#"):
            switch lineLength == 1 ? buffer.getInteger(at: line, as: UInt8.self) : nil {
            case UInt8(ascii: "t"): token = .value(.boolean(true))
            case UInt8(ascii: "f"): token = .value(.boolean(false))
            default: throw .invalidValue("boolean", Self.excerpt(buffer, at: line, length: lineLength), offset: offset)
            }
        case UInt8(ascii: ","):
            let text = buffer.getString(at: line, length: lineLength)!
            guard let double = Double(text) else {
                throw .invalidValue("double", Self.excerpt(buffer, at: line, length: lineLength), offset: offset)
            }
            token = .value(.double(double))
        case UInt8(ascii: "("):
            guard Self.isDecimal(buffer, at: line, length: lineLength) else {
                throw .invalidValue("big number", Self.excerpt(buffer, at: line, length: lineLength), offset: offset)
            }
            token = .value(.bigNumber(buffer.getString(at: line, length: lineLength)!))
        default:
            let count = try Self.integer(in: buffer, at: line, length: lineLength, offset: offset)
            if count == -1 && marker == UInt8(ascii: "*") {
                token = .value(.null)
                break
            }
            guard count >= 0 else { throw .negativeLength(count, offset: offset) }
            let kind = Self.kind(of: marker)
            let pairs = kind == .map || kind == .attribute
            let (elements, overflow) = count.multipliedReportingOverflow(by: pairs ? 2 : 1)
            guard !overflow && elements <= limits.maxAggregateCount else {
                throw .aggregateTooLarge(overflow ? count : elements, limit: limits.maxAggregateCount, offset: offset)
            }
            if elements > 0 && stack.count >= limits.maxDepth {
                throw .tooDeep(limit: limits.maxDepth, offset: offset)
            }
            token = .aggregate(kind, count: elements)
        }
        buffer.moveReaderIndex(to: end)
        consumed += end - start
        scanned = 0
        return token
    }

    /// Finds the CR of the line that starts at `lineStart`, checking that LF follows it and that no other CR or
    /// LF comes before it.
    /// - Returns: the index of the CR, or `nil` if the buffer ends first.
    private mutating func findLineEnd(in buffer: ByteBuffer, lineStart: Int, offset: Int) throws(RESPError) -> Int? {
        let available = buffer.writerIndex - lineStart
        let scanLimit = min(available, limits.maxLineLength + 1)
        let base = lineStart - buffer.readerIndex
        let from = scanned
        // The position of the CR, -1 for none yet, or -2 - i for a stray CR or LF at i.
        let position = buffer.withUnsafeReadableBytes { bytes -> Int in
            var index = from
            while index < scanLimit {
                let byte = bytes[base + index]
                if byte == UInt8(ascii: "\r") {
                    guard index + 1 < available else { return -1 }
                    return bytes[base + index + 1] == UInt8(ascii: "\n") ? index : -2 - index
                }
                if byte == UInt8(ascii: "\n") { return -2 - index }
                index += 1
            }
            return -1
        }
        if position >= 0 { return lineStart + position }
        if position < -1 { throw .bareLineBreak(offset: offset + 1 + (-2 - position)) }
        if available > limits.maxLineLength { throw .lineTooLong(limit: limits.maxLineLength, offset: offset) }
        // Stop before a trailing CR, whose LF may come with the next read.
        scanned = max(0, min(available, scanLimit) - 1)
        return nil
    }

    // MARK: - Scalars

    private static let crlf = UInt16(UInt8(ascii: "\r")) << 8 | UInt16(UInt8(ascii: "\n"))

    private static let markers: Set<UInt8> = Set("+-:$*_#,(!=%~>|".utf8)

    private static func kind(of marker: UInt8) -> Kind {
        switch marker {
        case UInt8(ascii: "%"): .map
        case UInt8(ascii: "~"): .set
        case UInt8(ascii: ">"): .push
        case UInt8(ascii: "|"): .attribute
        default: .array
        }
    }

    /// Parses an optional minus and at least one decimal digit that fit in an `Int`.
    private static func integer(in buffer: ByteBuffer, at index: Int, length: Int, offset: Int) throws(RESPError)
        -> Int
    {
        let parsed = buffer.withUnsafeReadableBytes { bytes -> Int? in
            let start = index - buffer.readerIndex
            let negative = length > 0 && bytes[start] == UInt8(ascii: "-")
            let digitsStart = negative ? 1 : 0
            guard length > digitsStart else { return nil }
            var value = 0
            for position in digitsStart..<length {
                let digit = Int(bytes[start + position]) &- Int(UInt8(ascii: "0"))
                guard digit >= 0 && digit <= 9 else { return nil }
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) =
                    negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                guard !overflow1 && !overflow2 else { return nil }
                value = next
            }
            return value
        }
        guard let parsed else { throw .invalidNumber(excerpt(buffer, at: index, length: length), offset: offset) }
        return parsed
    }

    private static func isDecimal(_ buffer: ByteBuffer, at index: Int, length: Int) -> Bool {
        let text = buffer.getSlice(at: index, length: length)!.readableBytesView
        let digits = text.first == UInt8(ascii: "-") ? text.dropFirst() : text[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Splits `fmt:text`, where `fmt` is three ASCII characters.
    private static func verbatim(_ payload: ByteBuffer, offset: Int) throws(RESPError) -> RESPValue {
        let bytes = payload.readableBytesView
        guard bytes.count >= 4, bytes[bytes.startIndex + 3] == UInt8(ascii: ":"),
            bytes.prefix(3).allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else {
            throw .invalidValue(
                "verbatim string", excerpt(payload, at: payload.readerIndex, length: payload.readableBytes),
                offset: offset)
        }
        let format = payload.getString(at: payload.readerIndex, length: 3)!
        return .verbatimString(
            format: format, text: payload.getSlice(at: payload.readerIndex + 4, length: bytes.count - 4)!)
    }

    /// Up to 32 bytes of a token, for error messages.
    private static func excerpt(_ buffer: ByteBuffer, at index: Int, length: Int) -> String {
        let text = buffer.getString(at: index, length: min(length, 32))!
        return length > 32 ? text + "…" : text
    }
}
