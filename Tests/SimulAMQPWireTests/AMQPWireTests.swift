import NIOCore
import SimulAMQPWire
import Testing

/// Frames as py-amqp 5.4, Celery's AMQP client, writes them (printed by `py-amqp-frames.py` beside this file).
private enum PyAMQP {
    static let publish =
        "0100010000000f003c00280000000663656c65727900ce020001000001ad003c00000000000000000051fe00106170706c69636174"
        + "696f6e2f6a736f6e057574662d3800000138046c616e6753000000027079047461736b53000000097461736b732e616464026964"
        + "530000002438623166366332652d336634612d346235632d396436652d37663830393161326233633406736861646f7756036574"
        + "61560765787069726573560567726f7570560b67726f75705f696e64657856077265747269657349000000000974696d656c696d"
        + "69744100000002565607726f6f745f6964530000002438623166366332652d336634612d346235632d396436652d376638303931"
        + "61326233633409706172656e745f696456086172677372657072530000000628322c2033290a6b77617267737265707253000000"
        + "027b7d066f726967696e530000000a67656e343240686f73740d69676e6f72655f726573756c7474000f7374616d7065645f6865"
        + "616465727356067374616d7073460000000002002438623166366332652d336634612d346235632d396436652d37663830393161"
        + "32623363342461316232633364342d303030302d333030302d383030302d303030303030303030303031ce030001000000515b5b"
        + "322c20335d2c207b7d2c207b2263616c6c6261636b73223a206e756c6c2c20226572726261636b73223a206e756c6c2c20226368"
        + "61696e223a206e756c6c2c202263686f7264223a206e756c6c7d5dce"
    static let queueDeclare =
        "010001000000260032000a00000663656c65727902000000140e782d6d61782d7072696f72697479490000000ace"
    static let qos = "0100010000000b003c000a00000000000401ce"
    static let ack = "0100010000000d003c0050000000000000000500ce"
    static let startOk =
        "010000000000c0000a000b0000009c047465787453000000046f6cc3a103796573740105736d616c6c4900000007086e65676174"
        + "69766549fffffffe036269674c000001000000000005726174696f643fd00000000000000570726963654402000004d204776865"
        + "6e54000000006b171e50066e65737465644600000024046c697374410000001a4900000001530000000374776f56460000000704"
        + "646565707400076e6f7468696e675605504c41494e0000000c00677565737400677565737405656e5f5553ce"
}

private func bytes(_ hex: String) -> ByteBuffer {
    var buffer = ByteBuffer()
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        buffer.writeInteger(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return buffer
}

private func frames(_ hex: String) throws -> [AMQPFrame] {
    var buffer = bytes(hex)
    var parser = AMQPFrameParser(maxFrameSize: 131_072)
    var frames: [AMQPFrame] = []
    while let frame = try parser.next(from: &buffer) { frames.append(frame) }
    #expect(buffer.readableBytes == 0)
    return frames
}

private func written(_ frames: [AMQPFrame]) -> ByteBuffer {
    var buffer = ByteBuffer()
    for frame in frames { frame.write(to: &buffer) }
    return buffer
}

struct AMQPWireTests {
    /// Celery's task message, as py-amqp publishes it: the method, the content header with Celery's headers, and
    /// the body, each read back as sent, and written again byte for byte.
    @Test func readsAndWritesCeleryPublishAsPyAMQPDoes() throws {
        let read = try frames(PyAMQP.publish)
        #expect(read.map(\.kind) == [.method, .header, .body])
        #expect(read.allSatisfy { $0.channel == 1 })

        let method = try AMQPMethod(payload: read[0].payload)
        #expect(
            method
                == AMQPMethod(
                    .basicPublish, [.short(0), .shortString(""), .shortString("celery"), .bit(false), .bit(false)]))
        #expect(method.name == "basic.publish" && method.hasContent)

        let header = try AMQPContentHeader(payload: read[1].payload)
        #expect(header.bodySize == UInt64(read[2].payload.readableBytes))
        let properties = header.properties
        #expect(properties.contentType == "application/json" && properties.contentEncoding == "utf-8")
        #expect(properties.deliveryMode == 2 && properties.priority == 0)
        #expect(properties.correlationId == "8b1f6c2e-3f4a-4b5c-9d6e-7f8091a2b3c4")
        #expect(properties.replyTo == "a1b2c3d4-0000-3000-8000-000000000001")
        let headers = try #require(properties.headers)
        #expect(headers["task"]?.stringValue == "tasks.add" && headers["retries"] == .int32(0))
        #expect(headers["timelimit"] == .array([.void, .void]) && headers["stamps"] == .table([:]))
        #expect(headers["ignore_result"] == .bool(false) && headers["eta"] == .void)
        #expect(headers.entries.count == 18)

        var methodPayload = ByteBuffer()
        try method.write(to: &methodPayload)
        var headerPayload = ByteBuffer()
        try header.write(to: &headerPayload)
        let again = [
            AMQPFrame(kind: .method, channel: 1, payload: methodPayload),
            AMQPFrame(kind: .header, channel: 1, payload: headerPayload), read[2],
        ]
        #expect(written(again) == bytes(PyAMQP.publish))
    }

    /// Methods with bits packed in one octet (queue.declare's five flags, basic.qos's global) and a table argument.
    @Test func packsBitsAsPyAMQPDoes() throws {
        let declare = AMQPMethod(
            .queueDeclare,
            [
                .short(0), .shortString("celery"), .bit(false), .bit(true), .bit(false), .bit(false), .bit(false),
                .table(["x-max-priority": .int32(10)]),
            ])
        let qos = AMQPMethod(.basicQos, [.long(0), .short(4), .bit(true)])
        let ack = AMQPMethod(.basicAck, [.longlong(5), .bit(false)])
        for (method, hex) in [(declare, PyAMQP.queueDeclare), (qos, PyAMQP.qos), (ack, PyAMQP.ack)] {
            let read = try frames(hex)
            #expect(try AMQPMethod(payload: read[0].payload) == method)
            var payload = ByteBuffer()
            try method.write(to: &payload)
            #expect(written([AMQPFrame(kind: .method, channel: 1, payload: payload)]) == bytes(hex))
        }
    }

    /// Every type py-amqp writes in a table (a client's properties), read as what it is; written again in
    /// RabbitMQ's spellings (a 64-bit integer as `l`, which RabbitMQ and py-amqp read, not the spec's `L`).
    @Test func readsEveryFieldTypePyAMQPWrites() throws {
        let read = try frames(PyAMQP.startOk)
        let method = try AMQPMethod(payload: read[0].payload)
        guard case .table(let table) = method.arguments[0] else {
            Issue.record("connection.start-ok's first argument is not a table")
            return
        }
        #expect(table["text"]?.stringValue == "olá" && table["yes"] == .bool(true))
        #expect(table["small"] == .int32(7) && table["negative"] == .int32(-2) && table["big"] == .int64(1 << 40))
        #expect(table["ratio"] == .double(0.25) && table["price"] == .decimal(scale: 2, value: 1234))
        #expect(table["when"] == .timestamp(1_796_677_200) && table["nothing"] == .void)
        #expect(
            table["nested"]
                == .table(["list": .array([.int32(1), .string("two"), .void, .table(["deep": .bool(false)])])]))
        #expect(
            method.arguments.dropFirst() == [
                .shortString("PLAIN"), .longString(Array("\0guest\0guest".utf8)), .shortString("en_US"),
            ])

        var payload = ByteBuffer()
        try method.write(to: &payload)
        #expect(try AMQPMethod(payload: payload) == method)
        let bigInRabbitMQSpelling = payload.readableBytesView.firstRange(of: Array("big".utf8) + [UInt8(ascii: "l")])
        #expect(bigInRabbitMQSpelling != nil)
    }

    /// RabbitMQ's spellings and the spec's both read: `s`/`U` as a signed 16-bit integer, `l`/`L` as a signed
    /// 64-bit one; and RabbitMQ's extra types (`x` bytes, `b`, `B`, `u`, `i`, `f`).
    @Test func readsBothSpellingsOfTheTypesTheSpecAndRabbitMQDisagreeOn() throws {
        var body = ByteBuffer()
        for (key, type, value) in [
            ("a", "s", [0xFF, 0xFE]), ("b", "U", [0x00, 0x05]), ("c", "l", [0, 0, 0, 0, 0, 0, 0, 9]),
            ("d", "L", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), ("e", "x", [0, 0, 0, 2, 0xCA, 0xFE]),
            ("f", "b", [0x80]), ("g", "B", [0x80]), ("h", "u", [0xFF, 0xFF]), ("i", "i", [0xFF, 0xFF, 0xFF, 0xFF]),
            ("j", "f", [0x3F, 0x80, 0, 0]),
        ] as [(String, String, [UInt8])] {
            body.writeInteger(UInt8(1))
            body.writeString(key)
            body.writeString(type)
            body.writeBytes(value)
        }
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(50))
        payload.writeInteger(UInt16(10))
        payload.writeInteger(UInt16(0))
        payload.writeInteger(UInt8(1))
        payload.writeString("q")
        payload.writeInteger(UInt8(0))
        payload.writeInteger(UInt32(body.readableBytes))
        payload.writeImmutableBuffer(body)
        let method = try AMQPMethod(payload: payload)
        guard case .table(let table) = method.arguments.last else {
            Issue.record("queue.declare's last argument is not a table")
            return
        }
        #expect(table["a"] == .int16(-2) && table["b"] == .int16(5))
        #expect(table["c"] == .int64(9) && table["d"] == .int64(-1))
        #expect(table["e"] == .bytes([0xCA, 0xFE]) && table["f"] == .int8(-128) && table["g"] == .uint8(128))
        #expect(table["h"] == .uint16(65_535) && table["i"] == .uint32(.max) && table["j"] == .float(1))
    }

    /// A frame split anywhere waits for the rest; frames back to back come out one by one.
    @Test func readsFramesSplitAnywhere() throws {
        let whole = bytes(PyAMQP.publish + PyAMQP.ack)
        for split in 0...whole.readableBytes {
            var parser = AMQPFrameParser(maxFrameSize: 131_072)
            var buffer = whole.getSlice(at: 0, length: split)!
            var kinds: [AMQPFrame.Kind] = []
            while let frame = try parser.next(from: &buffer) { kinds.append(frame.kind) }
            buffer.writeImmutableBuffer(whole.getSlice(at: split, length: whole.readableBytes - split)!)
            while let frame = try parser.next(from: &buffer) { kinds.append(frame.kind) }
            #expect(kinds == [.method, .header, .body, .method], "split at \(split)")
        }
    }

    /// A heartbeat is eight bytes on channel 0.
    @Test func writesAHeartbeat() {
        var buffer = ByteBuffer()
        AMQPFrame.heartbeat.write(to: &buffer)
        #expect(buffer == bytes("080000000000" + "00ce"))
    }

    // MARK: Bad input

    /// Each malformed stream is one error that says what is wrong.
    @Test(arguments: [
        ("0900010000000000ce", "malformed AMQP: unknown frame type 9"),
        ("01000100000001" + "00" + "00", "malformed AMQP: a frame ends with 0, not 206 (0xCE)"),
        ("0100010002000000", "malformed AMQP: frame of 131080 bytes, more than the 131072 agreed"),
        ("414d515000000901", "the server speaks AMQP 0-0-9-1, not 0-9-1: it answered with its protocol header"),
    ])
    func rejectsMalformedFrames(hex: String, message: String) {
        var buffer = bytes(hex)
        var parser = AMQPFrameParser(maxFrameSize: 131_072)
        let error = #expect(throws: AMQPWireError.self) { try parser.next(from: &buffer) }
        #expect(error?.description == message)
    }

    /// Payloads that end early, name no method, hold an unknown field type, or nest without end.
    @Test func rejectsMalformedPayloads() throws {
        var unknownMethod = ByteBuffer()
        unknownMethod.writeInteger(UInt16(60))
        unknownMethod.writeInteger(UInt16(99))
        expectWireError("malformed AMQP: unknown method 60.99") {
            _ = try AMQPMethod(payload: unknownMethod)
        }
        var short = bytes(PyAMQP.qos)
        var parser = AMQPFrameParser(maxFrameSize: 0)
        let qos = try #require(try parser.next(from: &short))
        expectWireError("malformed AMQP: basic.qos ends before its announced length") {
            _ = try AMQPMethod(payload: qos.payload.getSlice(at: 0, length: 6)!)
        }
        let table = AMQPMethod(
            .queueDeclare,
            [
                .short(0), .shortString("q"), .bit(false), .bit(false), .bit(false), .bit(false), .bit(false),
                .table(["k": .void]),
            ])
        var payload = ByteBuffer()
        try table.write(to: &payload)
        payload.setInteger(UInt8(ascii: "Z"), at: payload.writerIndex - 1)
        expectWireError("malformed AMQP: unknown field-table value type 90 ('Z')") {
            _ = try AMQPMethod(payload: payload)
        }
        let nested = try deepArray(levels: 100)
        expectWireError("malformed AMQP: field tables and arrays nest more than 64 deep") {
            _ = try AMQPMethod(payload: nested)
        }
    }

    /// What cannot be written is refused before any byte is: a short string over 255 bytes, arguments that do not
    /// match the method.
    @Test func refusesWhatTheWireCannotCarry() {
        var buffer = ByteBuffer()
        let long = AMQPMethod(
            .basicPublish,
            [.short(0), .shortString(""), .shortString(String(repeating: "q", count: 256)), .bit(false), .bit(false)])
        let error = #expect(throws: AMQPWireError.self) { try long.write(to: &buffer) }
        #expect(
            error?.description
                == "cannot write AMQP: an argument of basic.publish is 256 bytes; a short string holds at most 255")
        let wrong = AMQPMethod(.basicAck, [.longlong(1)])
        expectWireError("cannot write AMQP: basic.ack takes (longlong, bit), not (longlong)") {
            try wrong.write(to: &buffer)
        }
        #expect(buffer.readableBytes == 0)
    }
}

/// Expects `body` to throw one ``AMQPWireError`` that reads `message`.
private func expectWireError(
    _ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    let error = #expect(throws: AMQPWireError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.description == message, sourceLocation: sourceLocation)
}

/// A queue.declare whose arguments table holds arrays nested `levels` deep.
private func deepArray(levels: Int) throws -> ByteBuffer {
    var value = AMQPFieldValue.void
    for _ in 0..<levels { value = .array([value]) }
    let method = AMQPMethod(
        .queueDeclare,
        [
            .short(0), .shortString("q"), .bit(false), .bit(false), .bit(false), .bit(false), .bit(false),
            .table(["deep": value]),
        ])
    var payload = ByteBuffer()
    try method.write(to: &payload)
    return payload
}
