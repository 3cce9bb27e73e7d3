extension RedisConfiguration {
    /// Reads a configuration from a URL of the form `redis://[[user]:password@]host[:port][/db]`.
    ///
    /// The port defaults to 6379 and the database to 0. The user name and password may hold percent escapes
    /// (`%40` for `@`). IPv6 hosts go in brackets: `redis://[::1]:6379`.
    ///
    /// ```swift
    /// let configuration = try RedisConfiguration(url: "redis://app:s3cret@cache.internal:6380/1")
    /// ```
    /// - Parameter url: the URL.
    /// - Throws: ``RedisError/invalidURL(_:)`` naming what is wrong (an unknown scheme, a bad port or database,
    ///   a missing host, a user without a password); the message never shows the password.
    public init(url: String) throws(RedisError) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidURL("'\(url)' does not start with redis://")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            let hint = scheme == "rediss" ? " (TLS is not supported)" : ""
            throw .invalidURL("unknown scheme '\(scheme)', expected 'redis'\(hint)")
        }
        var rest = url[schemeEnd.upperBound...]
        if let extra = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw .invalidURL("unexpected '\(rest[extra])' part; options go in the configuration, not the URL")
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw .invalidURL("a user name needs a password: redis://user:password@host")
            }
            let user = userInfo[..<colon]
            if !user.isEmpty {
                guard let decoded = Self.percentDecoded(user) else {
                    throw .invalidURL("the user name has an invalid percent escape")
                }
                username = decoded
            }
            guard let decoded = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                throw .invalidURL("the password has an invalid percent escape")
            }
            password = decoded
        }

        let (host, portText) = try Self.splitHostAndPort(rest)
        var port = 6379
        if let portText {
            guard let parsed = Int(portText), portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                (1...65535).contains(parsed)
            else {
                throw .invalidURL("port '\(portText)' is not a number between 1 and 65535")
            }
            port = parsed
        }
        var database = 0
        if !path.isEmpty {
            guard let parsed = Int(path), path.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw .invalidURL("database '\(path)' is not a number of 0 or more")
            }
            database = parsed
        }
        self.init(host: host, port: port, username: username, password: password, database: database)
    }

    /// Splits `host[:port]` or `[v6-address][:port]`.
    private static func splitHostAndPort(_ text: Substring) throws(RedisError) -> (String, Substring?) {
        var host: Substring
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .invalidURL("the IPv6 address '\(text)' has no closing ']'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL("unexpected '\(after)' after the IPv6 address") }
                port = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .invalidURL("the host is missing") }
        return (String(host), port)
    }

    /// Replaces `%XX` escapes with their bytes; `nil` if an escape is malformed or the result is not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
