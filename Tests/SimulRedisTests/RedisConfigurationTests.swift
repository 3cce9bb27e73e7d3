import SimulRedis
import Testing
import SimulRESP

@Suite struct RedisConfigurationTests {
    struct Good: Sendable, CustomTestStringConvertible {
        var url: String
        var expected: RedisConfiguration
        var testDescription: String { url }
    }

    @Test(arguments: [
        Good(url: "redis://localhost", expected: RedisConfiguration(host: "localhost")),
        Good(url: "redis://127.0.0.1:6380/2", expected: RedisConfiguration(host: "127.0.0.1", port: 6380, database: 2)),
        Good(url: "redis://h/", expected: RedisConfiguration(host: "h")),
        Good(url: "REDIS://cache:1/0", expected: RedisConfiguration(host: "cache", port: 1)),
        Good(url: "redis://:secret@h:7000", expected: RedisConfiguration(host: "h", port: 7000, password: "secret")),
        Good(url: "redis://:@h", expected: RedisConfiguration(host: "h", password: "")),
        Good(
            url: "redis://app:p%40ss%3Aw%2Frd@cache.internal:6379/15",
            expected: RedisConfiguration(
                host: "cache.internal", username: "app", password: "p@ss:w/rd", database: 15
            )
        ),
        Good(url: "redis://u:p@ss@h", expected: RedisConfiguration(host: "h", username: "u", password: "p@ss")),
        Good(url: "redis://[::1]:7000/3", expected: RedisConfiguration(host: "::1", port: 7000, database: 3)),
        Good(url: "redis://[::1]", expected: RedisConfiguration(host: "::1")),
        Good(url: "rediss://cache:6380/1", expected: tls(RedisConfiguration(host: "cache", port: 6380, database: 1))),
        Good(
            url: "rediss://h/0?ssl_cert_reqs=CERT_REQUIRED&ssl_ca_certs=%2Fetc%2Fca%20one.pem",
            expected: tls(RedisConfiguration(host: "h"), RedisTLS(caCertificates: "/etc/ca one.pem"))),
        Good(
            url: "rediss://h?ssl_cert_reqs=optional&ssl_certfile=/c.crt&ssl_keyfile=/c.key",
            expected: tls(RedisConfiguration(host: "h"), RedisTLS(certificateFile: "/c.crt", keyFile: "/c.key"))),
        Good(
            url: "rediss://h?ssl_check_hostname=false",
            expected: tls(RedisConfiguration(host: "h"), RedisTLS(verification: .chainOnly))),
        Good(
            url: "rediss://h?ssl_cert_reqs=none&ssl_check_hostname=true",
            expected: tls(RedisConfiguration(host: "h"), RedisTLS(verification: .none))),
        Good(
            url: "sentinel://:pw@h1:26380;sentinel://h2;sentinel://[::1]:26381/2?master_name=main&sentinel_password=sp",
            expected: sentinel(
                RedisConfiguration(host: "h1", port: 26380, password: "pw", database: 2),
                RedisSentinel(
                    masterName: "main",
                    sentinels: [.init(host: "h1", port: 26380), .init(host: "h2"), .init(host: "::1", port: 26381)],
                    password: "sp"))),
        Good(
            url: "redis://h/0?wait_replicas=2",
            expected: {
                var c = RedisConfiguration(host: "h"); c.waitReplicas = 2; return c
            }()),
    ])
    func parsesURLs(good: Good) throws {
        #expect(try RedisConfiguration(url: good.url) == good.expected)
    }

    /// `configuration` reached through `sentinels`.
    static func sentinel(_ configuration: RedisConfiguration, _ sentinels: RedisSentinel) -> RedisConfiguration {
        var configuration = configuration
        configuration.sentinel = sentinels
        return configuration
    }

    /// `configuration` with TLS, fully checked unless `settings` say otherwise.
    static func tls(_ configuration: RedisConfiguration, _ settings: RedisTLS = RedisTLS()) -> RedisConfiguration {
        var configuration = configuration
        configuration.tls = settings
        return configuration
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var url: String
        var message: String
        var testDescription: String { url }
    }

    @Test(arguments: [
        Bad(
            url: "http://localhost",
            message: "invalid redis URL: unknown scheme 'http', expected 'redis', 'rediss' (TLS) or 'sentinel'"),
        Bad(
            url: "sentinel://h1:26379;sentinel://h2:26379",
            message: "invalid redis URL: a sentinel:// URL needs the master's name: ?master_name=mymaster"),
        Bad(
            url: "sentinel://h1;redis://h2?master_name=m",
            message: "invalid redis URL: only sentinel:// URLs can be joined with ';'"),
        Bad(
            url: "sentinel://h1/1;sentinel://h2/2?master_name=m",
            message: "invalid redis URL: the sentinel URLs name different databases"),
        Bad(
            url: "sentinel://h1?master_name=m&ssl_ca_certs=/ca.pem",
            message: "invalid redis URL: 'ssl_ca_certs': TLS through sentinels is not supported yet"),
        Bad(
            url: "redis://h?master_name=m",
            message: "invalid redis URL: 'master_name' is a sentinel option: use a sentinel:// URL"),
        Bad(
            url: "redis://h?wait_replicas=many",
            message: "invalid redis URL: wait_replicas must be a number of replicas from 0 to 100, got 'many'"),
        Bad(
            url: "rediss://h?ssl_cert_reqs=maybe",
            message: "invalid redis URL: ssl_cert_reqs must be required, optional or none, got 'maybe'"),
        Bad(
            url: "rediss://h?ssl_check_hostname=perhaps",
            message: "invalid redis URL: ssl_check_hostname must be true or false, got 'perhaps'"),
        Bad(url: "rediss://h?ssl_ca_certs=", message: "invalid redis URL: ssl_ca_certs needs a file path"),
        Bad(
            url: "rediss://h?ssl_cert_reqs=none&ssl_cert_reqs=required",
            message: "invalid redis URL: the option 'ssl_cert_reqs' is given twice"),
        Bad(
            url: "rediss://h?ssl_ca_certs=%zz",
            message: "invalid redis URL: the option 'ssl_ca_certs=%zz' has an invalid percent escape"),
        Bad(
            url: "redis://h?ssl_cert_reqs=required",
            message: "invalid redis URL: 'ssl_cert_reqs' is a TLS option: use a rediss:// URL"),
        Bad(url: "localhost:6379", message: "invalid redis URL: 'localhost:6379' does not start with redis://"),
        Bad(url: "redis://h:0", message: "invalid redis URL: port '0' is not a number between 1 and 65535"),
        Bad(url: "redis://h:65536", message: "invalid redis URL: port '65536' is not a number between 1 and 65535"),
        Bad(url: "redis://h:abc/1", message: "invalid redis URL: port 'abc' is not a number between 1 and 65535"),
        Bad(url: "redis://h:+80", message: "invalid redis URL: port '+80' is not a number between 1 and 65535"),
        Bad(url: "redis://h:", message: "invalid redis URL: port '' is not a number between 1 and 65535"),
        Bad(url: "redis://h/abc", message: "invalid redis URL: database 'abc' is not a number of 0 or more"),
        Bad(url: "redis://h/-1", message: "invalid redis URL: database '-1' is not a number of 0 or more"),
        Bad(url: "redis://h/1/2", message: "invalid redis URL: database '1/2' is not a number of 0 or more"),
        Bad(url: "redis://:6379", message: "invalid redis URL: the host is missing"),
        Bad(url: "redis://", message: "invalid redis URL: the host is missing"),
        Bad(
            url: "redis://user@h",
            message: "invalid redis URL: a user name needs a password: redis://user:password@host"),
        Bad(url: "redis://:p%zz@h", message: "invalid redis URL: the password has an invalid percent escape"),
        Bad(url: "redis://u%4:p@h", message: "invalid redis URL: the user name has an invalid percent escape"),
        Bad(
            url: "redis://h?db=1",
            message:
                "invalid redis URL: unknown option 'db' (known: global_keyprefix, master_name, sentinel_password, ssl_ca_certs, ssl_cert_reqs, ssl_certfile, ssl_check_hostname, ssl_keyfile, wait_replicas)"
        ),
        Bad(url: "redis://h#top", message: "invalid redis URL: unexpected '#' part"),
        Bad(url: "redis://[::1:6379", message: "invalid redis URL: the IPv6 address '[::1:6379' has no closing ']'"),
        Bad(url: "redis://[::1]x", message: "invalid redis URL: unexpected 'x' after the IPv6 address"),
    ])
    func rejectsBadURLsWithTheExactError(bad: Bad) {
        #expect(throws: RedisError.invalidURL(String(bad.message.dropFirst("invalid redis URL: ".count)))) {
            try RedisConfiguration(url: bad.url)
        }
        do {
            _ = try RedisConfiguration(url: bad.url)
        } catch {
            #expect(error.message == bad.message)
        }
    }

    @Test func errorsAndDescriptionsNeverShowThePassword() throws {
        do {
            _ = try RedisConfiguration(url: "redis://u:hunter2@h:99999")
            Issue.record("a bad port was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
        }
        let configuration = try RedisConfiguration(url: "redis://app:hunter2@cache:6380/4")
        #expect(configuration.description == "redis://app:***@cache:6380/4")
        #expect(RedisConfiguration(host: "::1").description == "redis://[::1]:6379/0")
        #expect(RedisConfiguration(host: "h", password: "x").description == "redis://:***@h:6379/0")
        let secure = try RedisConfiguration(url: "rediss://:hunter2@h/0?ssl_ca_certs=/ca.pem")
        #expect(secure.description == "rediss://:***@h:6379/0")
    }

    @Test func defaultsSuitAServer() {
        let configuration = RedisConfiguration(host: "h")
        #expect(configuration.commandTimeout == .seconds(30))
        #expect(configuration.connectTimeout == .seconds(10))
        #expect(configuration.reconnectBackoff == RedisBackoff())
        #expect(configuration.parserLimits == RESPParser.Limits())
    }

    @Test func backoffGrowsExponentiallyUpToTheCap() {
        let backoff = RedisBackoff()
        let delays = (1...9).map { backoff.delay(afterFailures: $0) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
                .milliseconds(3200), .seconds(5), .seconds(5), .seconds(5),
            ]
        )
        #expect(backoff.delay(afterFailures: 10_000) == .seconds(5))
        let constant = RedisBackoff(initial: .milliseconds(50), maximum: .seconds(1), multiplier: 1)
        #expect(constant.delay(afterFailures: 7) == .milliseconds(50))
        let slow = RedisBackoff(initial: .seconds(1), maximum: .seconds(10), multiplier: 1.5)
        #expect(slow.delay(afterFailures: 3) == .milliseconds(2250))
    }
}
