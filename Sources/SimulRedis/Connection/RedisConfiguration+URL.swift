extension RedisConfiguration {
    /// Reads a configuration from a URL of the form `redis://[[user]:password@]host[:port][/db]`, or
    /// `rediss://…[?options]` for TLS.
    ///
    /// The port defaults to 6379 and the database to 0. The user name and password may hold percent escapes
    /// (`%40` for `@`). IPv6 hosts go in brackets: `redis://[::1]:6379`.
    ///
    /// A `rediss://` URL takes kombu's TLS options, percent-escaped:
    /// - `ssl_cert_reqs`: `required` (the default), `optional` (the same, for a client) or `none` (no check of the
    ///   server's certificate; also `CERT_REQUIRED`, `CERT_OPTIONAL`, `CERT_NONE`);
    /// - `ssl_check_hostname`: `false` checks the certificate's chain but not its name;
    /// - `ssl_ca_certs`: a PEM file of the authorities to trust, instead of the system's;
    /// - `ssl_certfile` and `ssl_keyfile`: a client certificate and its key, for servers that ask for one.
    ///
    /// Unlike kombu, a `rediss://` URL without options checks the server fully: turning the check off takes
    /// `ssl_cert_reqs=none`.
    ///
    /// `sentinel://h1:26379;sentinel://h2:26379/0?master_name=NAME[&sentinel_password=P]` reaches the master through
    /// Redis Sentinel. Any scheme takes `global_keyprefix=P` (kombu's key prefix) and `wait_replicas=N`.
    ///
    /// ```swift
    /// let configuration = try RedisConfiguration(url: "redis://app:s3cret@cache.internal:6380/1")
    /// let secure = try RedisConfiguration(url: "rediss://cache.internal:6380/0?ssl_ca_certs=%2Fetc%2Fca.pem")
    /// ```
    /// - Parameter url: the URL.
    /// - Throws: ``RedisError/invalidURL(_:)`` naming what is wrong (an unknown scheme, a bad port or database,
    ///   a missing host, a user without a password, an unknown option or value, a TLS option on `redis://`); the
    ///   message never shows the password.
    public init(url: String) throws(RedisError) {
        let parts = try url.split(separator: ";", omittingEmptySubsequences: false).map(Self.part)
        let first = parts[0]
        guard parts.count == 1 || parts.allSatisfy({ $0.scheme == "sentinel" }) else {
            throw .invalidURL("only sentinel:// URLs can be joined with ';'")
        }
        var options: [String: String] = [:]
        for part in parts {
            for (key, value) in part.options {
                guard options.updateValue(value, forKey: key) == nil else {
                    throw .invalidURL("the option '\(key)' is given twice")
                }
            }
        }
        let databases = Set(parts.compactMap(\.database))
        guard databases.count <= 1 else { throw .invalidURL("the sentinel URLs name different databases") }
        let credentials = parts.first { $0.password != nil }
        let port = first.port ?? (first.scheme == "sentinel" ? 26379 : 6379)
        self.init(
            host: first.host, port: port, username: credentials?.username, password: credentials?.password,
            database: databases.first ?? 0)
        keyPrefix = options.removeValue(forKey: "global_keyprefix") ?? ""
        if let wait = options.removeValue(forKey: "wait_replicas") {
            guard let replicas = Int(wait), wait.allSatisfy({ $0.isASCII && $0.isNumber }), replicas <= 100 else {
                throw .invalidURL("wait_replicas must be a number of replicas from 0 to 100, got '\(wait)'")
            }
            waitReplicas = replicas
        }
        switch first.scheme {
        case "rediss":
            tls = try Self.tls(options)
        case "sentinel":
            sentinel = try Self.sentinel(parts, options)
        default:
            if let option = options.keys.sorted().first {
                throw .invalidURL(
                    "'\(option)' is a \(option.hasPrefix("ssl_") ? "TLS option: use a rediss://" : "sentinel option: use a sentinel://") URL"
                )
            }
        }
    }

    /// One URL of a `;`-separated list: `scheme://[[user]:password@]host[:port][/db][?options]`.
    private struct Part {
        var scheme: String
        var username: String?
        var password: String?
        var host: String
        var port: Int?
        var database: Int?
        var options: [String: String]
    }

    private static func part(_ url: Substring) throws(RedisError) -> Part {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .invalidURL("'\(url)' does not start with redis://")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard ["redis", "rediss", "sentinel"].contains(scheme) else {
            throw .invalidURL("unknown scheme '\(scheme)', expected 'redis', 'rediss' (TLS) or 'sentinel'")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.contains("#") { throw .invalidURL("unexpected '#' part") }
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring?
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
                guard let decoded = percentDecoded(user) else {
                    throw .invalidURL("the user name has an invalid percent escape")
                }
                username = decoded
            }
            guard let decoded = percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                throw .invalidURL("the password has an invalid percent escape")
            }
            password = decoded
        }

        let (host, portText) = try splitHostAndPort(rest)
        var port: Int?
        if let portText {
            guard let parsed = Int(portText), portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                (1...65535).contains(parsed)
            else {
                throw .invalidURL("port '\(portText)' is not a number between 1 and 65535")
            }
            port = parsed
        }
        var database: Int?
        if let path, !path.isEmpty {
            guard let parsed = Int(path), path.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw .invalidURL("database '\(path)' is not a number of 0 or more")
            }
            database = parsed
        }
        return Part(
            scheme: scheme, username: username, password: password, host: host, port: port, database: database,
            options: try options(query))
    }

    /// The options a URL's query may hold: TLS's, the sentinels', `global_keyprefix` and `wait_replicas`.
    private static let knownOptions = [
        "global_keyprefix", "master_name", "sentinel_password", "ssl_ca_certs", "ssl_cert_reqs", "ssl_certfile",
        "ssl_check_hostname", "ssl_keyfile", "wait_replicas",
    ]

    /// The query's `key=value` pairs, decoded; every key known and given once.
    private static func options(_ query: Substring) throws(RedisError) -> [String: String] {
        var options: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecoded(parts[0]), let value = percentDecoded(parts.count > 1 ? parts[1] : "")
            else { throw .invalidURL("the option '\(pair)' has an invalid percent escape") }
            guard knownOptions.contains(key) else {
                throw .invalidURL("unknown option '\(key)' (known: \(knownOptions.joined(separator: ", ")))")
            }
            guard options.updateValue(value, forKey: key) == nil else {
                throw .invalidURL("the option '\(key)' is given twice")
            }
        }
        return options
    }

    /// The sentinels of `parts` and the master `options` name.
    private static func sentinel(_ parts: [Part], _ options: [String: String]) throws(RedisError) -> RedisSentinel {
        guard let masterName = options["master_name"], !masterName.isEmpty else {
            throw .invalidURL("a sentinel:// URL needs the master's name: ?master_name=mymaster")
        }
        if let option = options.keys.sorted().first(where: { $0.hasPrefix("ssl_") }) {
            throw .invalidURL("'\(option)': TLS through sentinels is not supported yet")
        }
        return RedisSentinel(
            masterName: masterName,
            sentinels: parts.map { RedisSentinel.Endpoint(host: $0.host, port: $0.port ?? 26379) },
            password: options["sentinel_password"])
    }

    /// The TLS settings `options` ask for.
    private static func tls(_ options: [String: String]) throws(RedisError) -> RedisTLS {
        var tls = RedisTLS(
            caCertificates: options["ssl_ca_certs"], certificateFile: options["ssl_certfile"],
            keyFile: options["ssl_keyfile"])
        for (option, path) in options where option != "ssl_cert_reqs" && option != "ssl_check_hostname" {
            guard !path.isEmpty else { throw .invalidURL("\(option) needs a file path") }
        }
        if let checkHostname = options["ssl_check_hostname"] {
            switch checkHostname.lowercased() {
            case "true", "1", "yes": break
            case "false", "0", "no": tls.verification = .chainOnly
            default: throw .invalidURL("ssl_check_hostname must be true or false, got '\(checkHostname)'")
            }
        }
        if let requirement = options["ssl_cert_reqs"] {
            switch requirement.lowercased() {
            case "required", "cert_required", "optional", "cert_optional": break
            case "none", "cert_none": tls.verification = .none
            default: throw .invalidURL("ssl_cert_reqs must be required, optional or none, got '\(requirement)'")
            }
        }
        return tls
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
