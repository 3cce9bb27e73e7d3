import NIOCore
import Testing

@testable import SimulRedis
import SimulRESP

@Suite struct RESPEncoderTests {
    private func encoded(_ arguments: [RedisArgument]) -> String {
        var buffer = ByteBuffer()
        let written = buffer.writeRESPCommand(arguments)
        #expect(written == buffer.readableBytes)
        return String(buffer: buffer)
    }

    @Test func writesCommandsAsArraysOfBulkStrings() {
        #expect(encoded(["PING"]) == "*1\r\n$4\r\nPING\r\n")
        #expect(encoded(["SET", "counter", 41]) == "*3\r\n$3\r\nSET\r\n$7\r\ncounter\r\n$2\r\n41\r\n")
        #expect(encoded(["SET", "", "x"]) == "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nx\r\n")
    }

    @Test func countsUTF8BytesNotCharacters() {
        #expect(encoded(["SET", "clé", "€"]) == "*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$3\r\n€\r\n")
        #expect(encoded([RedisArgument("🦊"[...])]) == "*1\r\n$4\r\n🦊\r\n")
    }

    @Test(arguments: [0, 7, 10, -1, -10, 1_000_000, Int.max, Int.min])
    func writesIntegersInDecimal(value: Int) {
        let text = String(value)
        #expect(encoded([RedisArgument(value)]) == "*1\r\n$\(text.utf8.count)\r\n\(text)\r\n")
        #expect(ByteBuffer.decimalLength(value) == text.count)
    }

    @Test func writesOtherIntegerTypesAndDoubles() {
        #expect(encoded([RedisArgument(UInt8(200))]) == "*1\r\n$3\r\n200\r\n")
        #expect(encoded([RedisArgument(1.5)]) == "*1\r\n$3\r\n1.5\r\n")
        #expect(
            encoded([RedisArgument(Double.infinity), RedisArgument(-Double.infinity)])
                == "*2\r\n$3\r\ninf\r\n$4\r\n-inf\r\n")
    }

    @Test func writesBytesAsTheyAreWithoutTouchingTheSource() {
        var bytes = ByteBuffer(bytes: [0, 13, 10, 255])
        bytes.moveReaderIndex(forwardBy: 1)
        var buffer = ByteBuffer()
        buffer.writeRESPCommand(["SET", "k", RedisArgument(bytes)])
        #expect(
            Array(buffer.readableBytesView) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [
                13, 10, 255, 13, 10,
            ])
        #expect(bytes.readableBytes == 3)
    }

    @Test func appendsToWhatIsAlreadyInTheBuffer() {
        var buffer = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")
        let written = buffer.writeRESPCommand(["ECHO", "hi"])
        #expect(written == 22)
        #expect(String(buffer: buffer) == "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")
    }

    @Test(arguments: RESPSample.all)
    func writesValuesThatParseBackTheSame(sample: RESPSample) throws {
        var buffer = ByteBuffer()
        buffer.writeRESPValue(sample.value)
        var parser = RESPParser()
        #expect(try parser.next(from: &buffer) == sample.value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func writesRESP3FormsAndBlobErrorsWhereNeeded() {
        func written(_ value: RESPValue) -> String {
            var buffer = ByteBuffer()
            buffer.writeRESPValue(value)
            return String(buffer: buffer)
        }
        #expect(written(.null) == "_\r\n")
        #expect(written(.error("ERR no")) == "-ERR no\r\n")
        #expect(written(.error("two\nlines")) == "!9\r\ntwo\nlines\r\n")
        #expect(written(.double(0.5)) == ",0.5\r\n")
        #expect(written(.map([.integer(1), .boolean(true)])) == "%1\r\n:1\r\n#t\r\n")
        #expect(written(.verbatimString(format: "txt", text: ByteBuffer(string: "hi"))) == "=6\r\ntxt:hi\r\n")
    }

    @Test func convenienceAccessorsReadStringsAndIntegers() {
        #expect(RESPValue.bulkString(ByteBuffer(string: "12")).int == 12)
        #expect(RESPValue.bulkString(ByteBuffer(string: "12")).string == "12")
        #expect(RESPValue.simpleString(ByteBuffer(string: "OK")).string == "OK")
        #expect(RESPValue.verbatimString(format: "txt", text: ByteBuffer(string: "v")).string == "v")
        #expect(RESPValue.integer(3).int == 3)
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.null.int == nil)
        #expect(RESPValue.bulkString(ByteBuffer(string: "x")).int == nil)
    }
}
