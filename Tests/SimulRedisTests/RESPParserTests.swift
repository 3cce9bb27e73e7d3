import NIOCore
import SimulRedis
import Testing
import SimulRESP

/// RESP bytes and the value they hold.
struct RESPSample: Sendable, CustomTestStringConvertible {
    var bytes: String
    var value: RESPValue

    var testDescription: String { bytes.debugDescription }

    static let all: [RESPSample] = [
        RESPSample(bytes: "+OK\r\n", value: .simpleString(ByteBuffer(string: "OK"))),
        RESPSample(bytes: "+\r\n", value: .simpleString(ByteBuffer())),
        RESPSample(bytes: "-ERR unknown command 'FOO'\r\n", value: .error("ERR unknown command 'FOO'")),
        RESPSample(bytes: ":0\r\n", value: .integer(0)),
        RESPSample(bytes: ":-42\r\n", value: .integer(-42)),
        RESPSample(bytes: ":9223372036854775807\r\n", value: .integer(.max)),
        RESPSample(bytes: ":-9223372036854775808\r\n", value: .integer(.min)),
        RESPSample(bytes: "$5\r\nhello\r\n", value: .bulkString(ByteBuffer(string: "hello"))),
        RESPSample(bytes: "$0\r\n\r\n", value: .bulkString(ByteBuffer())),
        RESPSample(bytes: "$4\r\na\r\nb\r\n", value: .bulkString(ByteBuffer(string: "a\r\nb"))),
        RESPSample(bytes: "$-1\r\n", value: .null),
        RESPSample(bytes: "*0\r\n", value: .array([])),
        RESPSample(bytes: "*-1\r\n", value: .null),
        RESPSample(
            bytes: "*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n",
            value: .array([
                .integer(1), .bulkString(ByteBuffer(string: "a")),
                .array([.simpleString(ByteBuffer(string: "x")), .null]),
            ])
        ),
        RESPSample(bytes: "_\r\n", value: .null),
        RESPSample(bytes: "#t\r\n", value: .boolean(true)),
        RESPSample(bytes: "#f\r\n", value: .boolean(false)),
        RESPSample(bytes: ",3.14\r\n", value: .double(3.14)),
        RESPSample(bytes: ",-1e-05\r\n", value: .double(-0.00001)),
        RESPSample(bytes: ",10\r\n", value: .double(10)),
        RESPSample(bytes: ",inf\r\n", value: .double(.infinity)),
        RESPSample(bytes: ",-inf\r\n", value: .double(-.infinity)),
        RESPSample(
            bytes: "(3492890328409238509324850943850943825024385\r\n",
            value: .bigNumber("3492890328409238509324850943850943825024385")
        ),
        RESPSample(bytes: "(-12\r\n", value: .bigNumber("-12")),
        RESPSample(
            bytes: "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            value: .map([
                .simpleString(ByteBuffer(string: "first")), .integer(1), .simpleString(ByteBuffer(string: "second")),
                .integer(2),
            ])
        ),
        RESPSample(bytes: "%0\r\n", value: .map([])),
        RESPSample(
            bytes: "~3\r\n+orange\r\n+apple\r\n#t\r\n",
            value: .set([
                .simpleString(ByteBuffer(string: "orange")), .simpleString(ByteBuffer(string: "apple")), .boolean(true),
            ])
        ),
        RESPSample(
            bytes: ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
            value: .push([
                .bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "news")),
                .bulkString(ByteBuffer(string: "hi")),
            ])
        ),
        RESPSample(
            bytes: "=15\r\ntxt:Some string\r\n",
            value: .verbatimString(format: "txt", text: ByteBuffer(string: "Some string"))
        ),
        RESPSample(bytes: "=4\r\nmkd:\r\n", value: .verbatimString(format: "mkd", text: ByteBuffer())),
        RESPSample(bytes: "!21\r\nSYNTAX invalid syntax\r\n", value: .error("SYNTAX invalid syntax")),
        RESPSample(bytes: "!11\r\nLINE\r\nBREAK\r\n", value: .error("LINE\r\nBREAK")),
        // Attributes are metadata for the value that follows: skipped, at the top level and inside aggregates.
        RESPSample(
            bytes:
                "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
            value: .array([.integer(2_039_123), .integer(9_543_892)])
        ),
        RESPSample(bytes: "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", value: .array([.integer(1), .integer(2)])),
        RESPSample(bytes: "|0\r\n:5\r\n", value: .integer(5)),
    ]
}

@Suite struct RESPParserTests {
    @Test(arguments: RESPSample.all)
    func parsesEveryType(sample: RESPSample) throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: sample.bytes)
        #expect(try parser.next(from: &buffer) == sample.value)
        #expect(buffer.readableBytes == 0)
        #expect(try parser.next(from: &buffer) == nil)
    }

    @Test(arguments: RESPSample.all)
    func returnsNilAtEverySplitPointThenTheValue(sample: RESPSample) throws {
        let bytes = Array(sample.bytes.utf8)
        for split in 0..<bytes.count {
            var parser = RESPParser()
            var buffer = ByteBuffer(bytes: bytes[..<split])
            #expect(try parser.next(from: &buffer) == nil, "split at \(split)")
            buffer.writeBytes(bytes[split...])
            #expect(try parser.next(from: &buffer) == sample.value, "split at \(split)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func parsesAStreamFedOneByteAtATime() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for byte in RESPSample.all.map(\.bytes).joined().utf8 {
            buffer.writeInteger(byte)
            while let value = try parser.next(from: &buffer) { values.append(value) }
        }
        #expect(values == RESPSample.all.map(\.value))
    }

    @Test func readsValuesOneAtATimeAndLeavesTheRest() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "+OK\r\n:1\r\n$3\r\nab")
        #expect(try parser.next(from: &buffer) == .simpleString(ByteBuffer(string: "OK")))
        #expect(try parser.next(from: &buffer) == .integer(1))
        #expect(try parser.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 6)
        buffer.writeString("c\r\n")
        #expect(try parser.next(from: &buffer) == .bulkString(ByteBuffer(string: "abc")))
    }

    @Test func parsesNaN() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: ",nan\r\n")
        guard case .double(let value) = try parser.next(from: &buffer) else {
            Issue.record("not a double")
            return
        }
        #expect(value.isNaN)
    }

    @Test func bulkStringsAreSlicesOfTheReadBuffer() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "$5\r\nhello\r\n")
        let storage = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        guard case .bulkString(let payload) = try parser.next(from: &buffer) else {
            Issue.record("not a bulk string")
            return
        }
        let payloadStorage = payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadStorage == storage + 4)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var bytes: String
        var error: RESPError
        var testDescription: String { bytes.debugDescription }
    }

    @Test(arguments: [
        Malformed(bytes: "A\r\n", error: .unknownType(UInt8(ascii: "A"), offset: 0)),
        Malformed(bytes: "\u{1}", error: .unknownType(1, offset: 0)),
        Malformed(bytes: ":12a\r\n", error: .invalidNumber("12a", offset: 0)),
        Malformed(bytes: ":\r\n", error: .invalidNumber("", offset: 0)),
        Malformed(bytes: ":-\r\n", error: .invalidNumber("-", offset: 0)),
        Malformed(bytes: ":+1\r\n", error: .invalidNumber("+1", offset: 0)),
        Malformed(bytes: ":9223372036854775808\r\n", error: .invalidNumber("9223372036854775808", offset: 0)),
        Malformed(
            bytes: "$123456789012345678901234567890123\r\n",
            error: .invalidNumber("12345678901234567890123456789012…", offset: 0)
        ),
        Malformed(bytes: "$-2\r\n", error: .negativeLength(-2, offset: 0)),
        Malformed(bytes: "*-5\r\n", error: .negativeLength(-5, offset: 0)),
        Malformed(bytes: "%-1\r\n", error: .negativeLength(-1, offset: 0)),
        Malformed(bytes: "=-1\r\n", error: .negativeLength(-1, offset: 0)),
        Malformed(bytes: "$3\r\nabcd\r\n", error: .missingTerminator(length: 3, offset: 0)),
        Malformed(bytes: "+OK\rX", error: .bareLineBreak(offset: 3)),
        Malformed(bytes: "+O\nK\r\n", error: .bareLineBreak(offset: 2)),
        Malformed(bytes: "#x\r\n", error: .invalidValue("boolean", "x", offset: 0)),
        Malformed(bytes: "#tt\r\n", error: .invalidValue("boolean", "tt", offset: 0)),
        Malformed(bytes: ",abc\r\n", error: .invalidValue("double", "abc", offset: 0)),
        Malformed(bytes: ",\r\n", error: .invalidValue("double", "", offset: 0)),
        Malformed(bytes: "(12x\r\n", error: .invalidValue("big number", "12x", offset: 0)),
        Malformed(bytes: "(-\r\n", error: .invalidValue("big number", "-", offset: 0)),
        Malformed(bytes: "_x\r\n", error: .invalidValue("null", "x", offset: 0)),
        Malformed(bytes: "=3\r\nabc\r\n", error: .invalidValue("verbatim string", "abc", offset: 0)),
        Malformed(bytes: "=5\r\ntx:ab\r\n", error: .invalidValue("verbatim string", "tx:ab", offset: 0)),
        Malformed(bytes: "+OK\r\n:1\r\nX", error: .unknownType(UInt8(ascii: "X"), offset: 9)),
        Malformed(bytes: "*2\r\n:1\r\n?\r\n", error: .unknownType(UInt8(ascii: "?"), offset: 8)),
    ])
    func rejectsMalformedInputWithTheExactError(malformed: Malformed) {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: malformed.bytes)
        #expect(throws: malformed.error) {
            while try parser.next(from: &buffer) != nil {}
        }
    }

    @Test func errorsSayWhereAndWhat() {
        #expect(
            RESPError.unknownType(UInt8(ascii: "A"), offset: 0).description
                == "malformed RESP at byte 0: unknown type byte 0x41 ('A')"
        )
        #expect(RESPError.unknownType(1, offset: 7).description == "malformed RESP at byte 7: unknown type byte 0x01")
        #expect(
            RESPError.bulkTooLong(11, limit: 10, offset: 3).description
                == "malformed RESP at byte 3: a bulk string of 11 bytes exceeds the limit of 10"
        )
        #expect(RESPError.tooDeep(limit: 2, offset: 8).hasSameKind(as: .tooDeep(limit: 128, offset: 0)))
        #expect(!RESPError.tooDeep(limit: 2, offset: 8).hasSameKind(as: .bareLineBreak(offset: 8)))
    }

    // MARK: - Limits

    @Test func rejectsABulkStringOverTheLimitBeforeItsBytesArrive() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "$536870913\r\n")
        #expect(throws: RESPError.bulkTooLong(536_870_913, limit: 512 * 1024 * 1024, offset: 0)) {
            try parser.next(from: &buffer)
        }
        var small = RESPParser(limits: .init(maxBulkLength: 10))
        var blobError = ByteBuffer(string: "*1\r\n!11\r\n")
        #expect(throws: RESPError.bulkTooLong(11, limit: 10, offset: 4)) { try small.next(from: &blobError) }
        var exact = ByteBuffer(string: "$10\r\n0123456789\r\n")
        var fresh = RESPParser(limits: .init(maxBulkLength: 10))
        #expect(try fresh.next(from: &exact) == .bulkString(ByteBuffer(string: "0123456789")))
    }

    @Test func rejectsNestingDeeperThanTheLimit() throws {
        let deepest = String(repeating: "*1\r\n", count: 128) + ":1\r\n"
        var parser = RESPParser()
        var buffer = ByteBuffer(string: deepest)
        var expected = RESPValue.integer(1)
        for _ in 0..<128 { expected = .array([expected]) }
        #expect(try parser.next(from: &buffer) == expected)

        var tooDeep = ByteBuffer(string: String(repeating: "*1\r\n", count: 129))
        var fresh = RESPParser()
        #expect(throws: RESPError.tooDeep(limit: 128, offset: 512)) { try fresh.next(from: &tooDeep) }

        // A million levels would overflow a recursive parser's stack; this one stops at the limit.
        var hostile = ByteBuffer(string: String(repeating: "*1\r\n", count: 1_000_000))
        var another = RESPParser()
        #expect(throws: RESPError.tooDeep(limit: 128, offset: 512)) { try another.next(from: &hostile) }

        var shallow = RESPParser(limits: .init(maxDepth: 1))
        var nested = ByteBuffer(string: "*1\r\n%1\r\n")
        #expect(throws: RESPError.tooDeep(limit: 1, offset: 4)) { try shallow.next(from: &nested) }
        var emptyInside = ByteBuffer(string: "*1\r\n*0\r\n")
        var shallowAgain = RESPParser(limits: .init(maxDepth: 1))
        #expect(try shallowAgain.next(from: &emptyInside) == .array([.array([])]))
    }

    @Test func rejectsAggregatesOverTheCountLimit() throws {
        var parser = RESPParser()
        var array = ByteBuffer(string: "*16777217\r\n")
        #expect(throws: RESPError.aggregateTooLarge(16_777_217, limit: 1 << 24, offset: 0)) {
            try parser.next(from: &array)
        }
        var mapParser = RESPParser()
        var map = ByteBuffer(string: "%8388609\r\n")
        #expect(throws: RESPError.aggregateTooLarge(16_777_218, limit: 1 << 24, offset: 0)) {
            try mapParser.next(from: &map)
        }
        var overflowParser = RESPParser()
        var overflow = ByteBuffer(string: "%9223372036854775807\r\n")
        #expect(throws: RESPError.aggregateTooLarge(.max, limit: 1 << 24, offset: 0)) {
            try overflowParser.next(from: &overflow)
        }
        // A header at the limit reserves no memory for elements that have not arrived: it just waits.
        var waiting = RESPParser()
        var header = ByteBuffer(string: "*16777216\r\n")
        #expect(try waiting.next(from: &header) == nil)
    }

    @Test func rejectsLinesOverTheLimitWithoutWaitingForTheirEnd() throws {
        var parser = RESPParser(limits: .init(maxLineLength: 8))
        var exact = ByteBuffer(string: "+12345678\r\n")
        #expect(try parser.next(from: &exact) == .simpleString(ByteBuffer(string: "12345678")))
        var long = ByteBuffer(string: "+12345678")
        #expect(try parser.next(from: &long) == nil)
        long.writeString("9")
        #expect(throws: RESPError.lineTooLong(limit: 8, offset: 11)) { try parser.next(from: &long) }
    }

    @Test func scansALongLineArrivingInPiecesOnce() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "-")
        let chunk = String(repeating: "e", count: 1000)
        for _ in 0..<1000 {
            buffer.writeString(chunk)
            #expect(try parser.next(from: &buffer) == nil)
        }
        buffer.writeString("\r")
        #expect(try parser.next(from: &buffer) == nil)
        buffer.writeString("\n")
        #expect(try parser.next(from: &buffer) == .error(String(repeating: "e", count: 1_000_000)))
    }
}
