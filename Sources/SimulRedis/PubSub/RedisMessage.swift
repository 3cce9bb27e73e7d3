public import NIOCore

/// A message published to a channel that a ``RedisSubscriber`` listens to.
public struct RedisMessage: Sendable, Hashable {
    /// The channel the message was published to.
    public var channel: String
    /// The pattern that matched the channel, for subscriptions made with ``RedisSubscriber/psubscribe(to:)``;
    /// `nil` for those made with ``RedisSubscriber/subscribe(to:)``.
    public var pattern: String?
    /// The published bytes.
    public var payload: ByteBuffer

    /// Creates a message.
    /// - Parameters:
    ///   - channel: the channel it was published to.
    ///   - pattern: the matching pattern, if the subscription was a pattern.
    ///   - payload: the published bytes.
    public init(channel: String, pattern: String?, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }
}
