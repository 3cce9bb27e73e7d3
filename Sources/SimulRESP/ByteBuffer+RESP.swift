public import NIOCore

extension ByteBuffer {
    /// Writes a command the way Redis reads it, as an array of bulk strings, straight into this buffer.
    ///
    /// ```swift
    /// var buffer = ByteBuffer()
    /// buffer.writeRESPCommand(["SET", "counter", 41])  // *3\r\n$3\r\nSET\r\n$7\r\ncounter\r\n$2\r\n41\r\n
    /// ```
    /// - Parameter arguments: the command's name and arguments; at least one.
    /// - Returns: the number of bytes written.
    @discardableResult
    public mutating func writeRESPCommand(_ arguments: [RedisArgument]) -> Int {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        let start = writerIndex
        writeHeader(UInt8(ascii: "*"), arguments.count)
        for argument in arguments {
            switch argument.storage {
            case .string(let string):
                writeHeader(UInt8(ascii: "$"), string.utf8.count)
                writeString(string)
            case .bytes(let bytes):
                writeHeader(UInt8(ascii: "$"), bytes.readableBytes)
                writeImmutableBuffer(bytes)
            case .integer(let integer):
                writeHeader(UInt8(ascii: "$"), Self.decimalLength(integer))
                writeDecimal(integer)
            case .double(let double):
                let text = String(double)
                writeHeader(UInt8(ascii: "$"), text.utf8.count)
                writeString(text)
            }
            writeCRLF()
        }
        return writerIndex - start
    }

    /// Writes a value in RESP, using RESP3's forms for RESP3-only values and `_` for ``RESPValue/null``, so
    /// that ``RESPParser`` reads back the same value.
    ///
    /// An error whose message holds CR or LF is written as a RESP3 blob error (`!`), and a verbatim string's
    /// format must be three ASCII characters. A simple string must not hold CR or LF.
    /// - Parameter value: the value to write.
    /// - Returns: the number of bytes written.
    @discardableResult
    public mutating func writeRESPValue(_ value: RESPValue) -> Int {
        let start = writerIndex
        switch value {
        case .simpleString(let text):
            precondition(!text.readableBytesView.contains(where: Self.isLineBreak), "a simple string holds CR or LF")
            writeLine(UInt8(ascii: "+"), text)
        case .error(let message):
            if message.utf8.contains(where: Self.isLineBreak) {
                writeHeader(UInt8(ascii: "!"), message.utf8.count)
                writeString(message)
                writeCRLF()
            } else {
                writeInteger(UInt8(ascii: "-"))
                writeString(message)
                writeCRLF()
            }
        case .integer(let integer):
            writeInteger(UInt8(ascii: ":"))
            writeDecimal(integer)
            writeCRLF()
        case .bulkString(let bytes):
            writeHeader(UInt8(ascii: "$"), bytes.readableBytes)
            writeImmutableBuffer(bytes)
            writeCRLF()
        case .array(let elements):
            writeAggregate(UInt8(ascii: "*"), elements)
        case .null:
            writeInteger(UInt8(ascii: "_"))
            writeCRLF()
        case .boolean(let bool):
            writeInteger(UInt8(ascii: "#"))
            writeInteger(bool ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            writeCRLF()
        case .double(let double):
            writeInteger(UInt8(ascii: ","))
            writeString(String(double))
            writeCRLF()
        case .bigNumber(let digits):
            writeInteger(UInt8(ascii: "("))
            writeString(digits)
            writeCRLF()
        case .map(let elements):
            precondition(elements.count % 2 == 0, "a map needs an even number of elements, keys and values")
            writeHeader(UInt8(ascii: "%"), elements.count / 2)
            for element in elements { writeRESPValue(element) }
        case .set(let elements):
            writeAggregate(UInt8(ascii: "~"), elements)
        case .push(let elements):
            writeAggregate(UInt8(ascii: ">"), elements)
        case .verbatimString(let format, let text):
            precondition(
                format.utf8.count == 3 && format.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f },
                "a verbatim string's format is three ASCII characters"
            )
            writeHeader(UInt8(ascii: "="), 4 + text.readableBytes)
            writeString(format)
            writeInteger(UInt8(ascii: ":"))
            writeImmutableBuffer(text)
            writeCRLF()
        }
        return writerIndex - start
    }

    private mutating func writeAggregate(_ marker: UInt8, _ elements: [RESPValue]) {
        writeHeader(marker, elements.count)
        for element in elements { writeRESPValue(element) }
    }

    private mutating func writeLine(_ marker: UInt8, _ text: ByteBuffer) {
        writeInteger(marker)
        writeImmutableBuffer(text)
        writeCRLF()
    }

    /// Writes `marker`, `count` in decimal and CRLF, as in `$5\r\n`.
    private mutating func writeHeader(_ marker: UInt8, _ count: Int) {
        writeInteger(marker)
        writeDecimal(count)
        writeCRLF()
    }

    private mutating func writeCRLF() {
        writeInteger(UInt16(UInt8(ascii: "\r")) << 8 | UInt16(UInt8(ascii: "\n")))
    }

    /// Writes `value` in decimal ASCII without building a string.
    package mutating func writeDecimal(_ value: Int) {
        let length = Self.decimalLength(value)
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var magnitude = value.magnitude
            var index = length
            repeat {
                index -= 1
                bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { bytes[0] = UInt8(ascii: "-") }
            return length
        }
    }

    /// The number of characters of `value` in decimal, minus sign included.
    package static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        return value < 0 ? digits + 1 : digits
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }
}
