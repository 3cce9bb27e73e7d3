public import NIOCore

/// An AMQP 0-9-1 method: its class and method ids and its arguments, in wire order.
///
/// Every method of the 0-9-1 spec and RabbitMQ's extensions (`exchange.bind`, `basic.nack`, `confirm.select`,
/// `connection.blocked`, `connection.update-secret`) has its signature in ``Signature/all``, which both directions
/// follow: ``init(payload:)`` reads the arguments the signature lists, and ``write(to:)`` checks the arguments
/// against it before it writes them. Consecutive bits share an octet, the first in its lowest bit.
///
/// ```swift
/// let qos = AMQPMethod(.basicQos, [.long(0), .short(16), .bit(false)])
/// var payload = ByteBuffer()
/// try qos.write(to: &payload)
/// ```
public struct AMQPMethod: Sendable, Hashable {
    /// A method's class id and method id, such as 60.40 for `basic.publish`.
    public struct ID: Sendable, Hashable, CustomStringConvertible {
        public var classId: UInt16
        public var methodId: UInt16

        public init(_ classId: UInt16, _ methodId: UInt16) {
            self.classId = classId
            self.methodId = methodId
        }

        /// The method's name, such as `basic.publish`, or its ids when it is unknown.
        public var description: String { Signature.all[self]?.name ?? "\(classId).\(methodId)" }
    }

    /// One argument's value.
    public enum Argument: Sendable, Hashable {
        case octet(UInt8)
        case short(UInt16)
        case long(UInt32)
        case longlong(UInt64)
        case shortString(String)
        case longString([UInt8])
        case bit(Bool)
        case table(AMQPTable)
        case timestamp(UInt64)

        var kind: Signature.Kind {
            switch self {
            case .octet: .octet
            case .short: .short
            case .long: .long
            case .longlong: .longlong
            case .shortString: .shortString
            case .longString: .longString
            case .bit: .bit
            case .table: .table
            case .timestamp: .timestamp
            }
        }
    }

    /// A method's name and argument types.
    public struct Signature: Sendable {
        /// An argument's wire type.
        public enum Kind: Sendable, Hashable {
            case octet, short, long, longlong, shortString, longString, bit, table, timestamp
        }

        public let name: String
        public let arguments: [Kind]
        /// Whether a content header and body frames follow the method.
        public let hasContent: Bool
    }

    public var id: ID
    public var arguments: [Argument]

    public init(_ id: ID, _ arguments: [Argument] = []) {
        self.id = id
        self.arguments = arguments
    }

    /// The method's name, such as `basic.publish`.
    public var name: String { id.description }

    /// Whether a content header and body frames follow this method.
    public var hasContent: Bool { Signature.all[id]?.hasContent ?? false }

    /// Reads a method frame's payload.
    /// - Throws: ``AMQPWireError`` for an unknown method, or arguments that end early or do not decode.
    public init(payload: ByteBuffer) throws(AMQPWireError) {
        var buffer = payload
        guard let classId = buffer.readInteger(as: UInt16.self), let methodId = buffer.readInteger(as: UInt16.self)
        else { throw .truncated("a method frame") }
        let id = ID(classId, methodId)
        guard let signature = Signature.all[id] else { throw .unknownMethod(classId: classId, methodId: methodId) }
        var arguments: [Argument] = []
        arguments.reserveCapacity(signature.arguments.count)
        var bits: UInt8 = 0
        var bitIndex = 8
        for kind in signature.arguments {
            if kind == .bit {
                if bitIndex == 8 {
                    guard let octet = buffer.readInteger(as: UInt8.self) else { throw .truncated(signature.name) }
                    bits = octet
                    bitIndex = 0
                }
                arguments.append(.bit(bits & (1 << bitIndex) != 0))
                bitIndex += 1
                continue
            }
            bitIndex = 8
            arguments.append(try buffer.readArgument(kind, of: signature.name))
        }
        self.init(id, arguments)
    }

    /// Appends the method's payload (ids and arguments) to `buffer`.
    /// - Throws: ``AMQPWireError`` when the method is unknown, its arguments do not match its signature, or a short
    ///   string is longer than 255 bytes.
    public func write(to buffer: inout ByteBuffer) throws(AMQPWireError) {
        guard let signature = Signature.all[id] else { throw .unwritable("unknown method \(id)") }
        guard arguments.map(\.kind) == signature.arguments else {
            let expected = signature.arguments.map { "\($0)" }.joined(separator: ", ")
            let given = arguments.map { "\($0.kind)" }.joined(separator: ", ")
            throw .wrongArguments(signature.name, expected: "(\(expected)), not (\(given))")
        }
        try buffer.writeAtomically { buffer throws(AMQPWireError) in
            buffer.writeInteger(id.classId)
            buffer.writeInteger(id.methodId)
            var bitsIndex: Int?
            var bitCount = 0
            for argument in arguments {
                guard case .bit(let bit) = argument else {
                    bitsIndex = nil
                    try buffer.writeArgument(argument, of: signature.name)
                    continue
                }
                if bitsIndex == nil || bitCount == 8 {
                    bitsIndex = buffer.writerIndex
                    bitCount = 0
                    buffer.writeInteger(UInt8(0))
                }
                if bit, let index = bitsIndex {
                    let octet = buffer.getInteger(at: index, as: UInt8.self) ?? 0
                    buffer.setInteger(octet | (1 << bitCount), at: index)
                }
                bitCount += 1
            }
        }
    }
}

extension ByteBuffer {
    fileprivate mutating func readArgument(
        _ kind: AMQPMethod.Signature.Kind, of method: String
    ) throws(AMQPWireError) -> AMQPMethod.Argument {
        func integer<T: FixedWidthInteger>(_: T.Type) throws(AMQPWireError) -> T {
            guard let value = readInteger(as: T.self) else { throw .truncated(method) }
            return value
        }
        switch kind {
        case .octet: return .octet(try integer(UInt8.self))
        case .short: return .short(try integer(UInt16.self))
        case .long: return .long(try integer(UInt32.self))
        case .longlong: return .longlong(try integer(UInt64.self))
        case .timestamp: return .timestamp(try integer(UInt64.self))
        case .shortString: return .shortString(try readAMQPShortString())
        case .longString: return .longString(try readAMQPLongString())
        case .table: return .table(try readAMQPTable())
        case .bit: return .bit(try integer(UInt8.self) & 1 != 0)
        }
    }

    fileprivate mutating func writeArgument(
        _ argument: AMQPMethod.Argument, of method: String
    ) throws(AMQPWireError) {
        switch argument {
        case .octet(let value): writeInteger(value)
        case .short(let value): writeInteger(value)
        case .long(let value): writeInteger(value)
        case .longlong(let value), .timestamp(let value): writeInteger(value)
        case .shortString(let text): try writeAMQPShortString(text, what: "an argument of \(method)")
        case .longString(let bytes): writeAMQPLongString(bytes)
        case .table(let table): try writeAMQPTable(table)
        case .bit(let bit): writeInteger(UInt8(bit ? 1 : 0))
        }
    }
}
