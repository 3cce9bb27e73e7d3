public import NIOCore

/// The basic class's message properties, as a content header carries them. Each is absent unless set; only the
/// set ones are written, each announced by its bit in the property flags.
public struct AMQPProperties: Sendable, Hashable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: AMQPTable?
    /// 1 transient, 2 persistent.
    public var deliveryMode: UInt8?
    public var priority: UInt8?
    public var correlationId: String?
    public var replyTo: String?
    /// The message's time to live, in milliseconds, as decimal text.
    public var expiration: String?
    public var messageId: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var userId: String?
    public var appId: String?
    /// Reserved by the spec (`cluster-id`); read and written, never interpreted.
    public var clusterId: String?

    public init(
        contentType: String? = nil, contentEncoding: String? = nil, headers: AMQPTable? = nil,
        deliveryMode: UInt8? = nil, priority: UInt8? = nil, correlationId: String? = nil, replyTo: String? = nil,
        expiration: String? = nil, messageId: String? = nil, timestamp: UInt64? = nil, type: String? = nil,
        userId: String? = nil, appId: String? = nil, clusterId: String? = nil
    ) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.deliveryMode = deliveryMode
        self.priority = priority
        self.correlationId = correlationId
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageId = messageId
        self.timestamp = timestamp
        self.type = type
        self.userId = userId
        self.appId = appId
        self.clusterId = clusterId
    }
}

/// A content header frame's payload: the class, the body's size and the properties.
public struct AMQPContentHeader: Sendable, Hashable {
    /// The class of the method the content follows: 60 (basic).
    public var classId: UInt16
    /// The size of the whole body, which the body frames that follow add up to.
    public var bodySize: UInt64
    public var properties: AMQPProperties

    public init(classId: UInt16 = 60, bodySize: UInt64, properties: AMQPProperties) {
        self.classId = classId
        self.bodySize = bodySize
        self.properties = properties
    }

    /// Reads a content header frame's payload.
    /// - Throws: ``AMQPWireError`` when it ends early, a property does not decode, or its flags announce a
    ///   continuation (flags beyond the 14 the basic class has).
    public init(payload: ByteBuffer) throws(AMQPWireError) {
        var buffer = payload
        guard let classId = buffer.readInteger(as: UInt16.self), buffer.readInteger(as: UInt16.self) != nil,
            let bodySize = buffer.readInteger(as: UInt64.self), let flags = buffer.readInteger(as: UInt16.self)
        else { throw .truncated("a content header") }
        guard flags & 1 == 0 else { throw .malformed("a content header's property flags go on past 16 bits") }
        func has(_ bit: Int) -> Bool { flags & (1 << bit) != 0 }
        func short(_ bit: Int) throws(AMQPWireError) -> String? {
            has(bit) ? try buffer.readAMQPShortString() : nil
        }
        func integer<T: FixedWidthInteger>(_ bit: Int, _: T.Type) throws(AMQPWireError) -> T? {
            guard has(bit) else { return nil }
            guard let value = buffer.readInteger(as: T.self) else { throw .truncated("a content header") }
            return value
        }
        let properties = AMQPProperties(
            contentType: try short(15), contentEncoding: try short(14),
            headers: has(13) ? try buffer.readAMQPTable() : nil, deliveryMode: try integer(12, UInt8.self),
            priority: try integer(11, UInt8.self), correlationId: try short(10), replyTo: try short(9),
            expiration: try short(8), messageId: try short(7), timestamp: try integer(6, UInt64.self),
            type: try short(5), userId: try short(4), appId: try short(3), clusterId: try short(2))
        self.init(classId: classId, bodySize: bodySize, properties: properties)
    }

    /// Appends the content header's payload to `buffer`.
    /// - Throws: ``AMQPWireError`` when a short-string property is longer than 255 bytes.
    public func write(to buffer: inout ByteBuffer) throws(AMQPWireError) {
        try buffer.writeAtomically { buffer throws(AMQPWireError) in
            buffer.writeInteger(classId)
            buffer.writeInteger(UInt16(0))
            buffer.writeInteger(bodySize)
            let flagsIndex = buffer.writerIndex
            buffer.writeInteger(UInt16(0))
            var flags: UInt16 = 0
            func short(_ value: String?, _ bit: Int, _ name: String) throws(AMQPWireError) {
                guard let value else { return }
                flags |= 1 << bit
                try buffer.writeAMQPShortString(value, what: "the \(name) property")
            }
            func octet(_ value: UInt8?, _ bit: Int) {
                guard let value else { return }
                flags |= 1 << bit
                buffer.writeInteger(value)
            }
            try short(properties.contentType, 15, "content_type")
            try short(properties.contentEncoding, 14, "content_encoding")
            if let headers = properties.headers {
                flags |= 1 << 13
                try buffer.writeAMQPTable(headers)
            }
            octet(properties.deliveryMode, 12)
            octet(properties.priority, 11)
            try short(properties.correlationId, 10, "correlation_id")
            try short(properties.replyTo, 9, "reply_to")
            try short(properties.expiration, 8, "expiration")
            try short(properties.messageId, 7, "message_id")
            if let timestamp = properties.timestamp {
                flags |= 1 << 6
                buffer.writeInteger(timestamp)
            }
            try short(properties.type, 5, "type")
            try short(properties.userId, 4, "user_id")
            try short(properties.appId, 3, "app_id")
            try short(properties.clusterId, 2, "cluster_id")
            buffer.setInteger(flags, at: flagsIndex)
        }
    }
}
