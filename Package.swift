// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// What the drivers of scripts/faults.sh and scripts/browser-test.sh depend on.
let driverDependencies: [Target.Dependency] = ["Simul", "SimulJSON", "SimulProcessSupport"]

let package = Package(
    name: "simul",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Simul", targets: ["Simul"]),
        .library(name: "SimulJSON", targets: ["SimulJSON"]),
        .library(name: "SimulQueue", targets: ["SimulQueue"]),
        .library(name: "SimulSQLite", targets: ["SimulSQLite"]),
        .library(name: "SimulRedis", targets: ["SimulRedis", "SimulRESP"]),
        .library(name: "SimulRedisBroker", targets: ["SimulRedisBroker"]),
        .library(name: "SimulBrokers", targets: ["SimulBrokers"]),
        .library(name: "SimulTasks", targets: ["SimulTasks"]),
        .library(name: "SimulDashboard", targets: ["SimulDashboard"]),
        .library(name: "SimulCommands", targets: ["SimulCommands"]),
        .executable(name: "simul", targets: ["SimulCLI"]),
        // The fault suite's driver (docs/faults.md), run by scripts/faults.sh.
        .executable(name: "simul-faults", targets: ["SimulFaultSuite"]),
        // The dashboard's browser test (docs/dashboard.md), run by scripts/browser-test.sh.
        .executable(name: "simul-browser-test", targets: ["SimulBrowserSuite"]),
    ],
    // A consumer that wants only the core library depends with `traits: []` and the `Simul` product; the packages
    // the queue needs are then neither resolved nor built (docs/packaging.md).
    traits: [
        .trait(
            name: "Queue",
            description: "The task queue, its brokers, dashboard and CLI, and the packages they need: SwiftNIO, "
                + "GRDB, Hummingbird, AsyncHTTPClient and the rest."),
        .default(enabledTraits: ["Queue"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // SHA-256 of dead letters. Already in the graph through swift-nio-extras and swift-certificates, which
        // accept 3.x to 5.x; a plain `from: "3.12.0"` would force it back to 3.x.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // OTLP/HTTP only: without the OTLPGRPC trait, grpc-swift is resolved but not built (docs/observability.md has
        // what swift-otel adds to a clean build).
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(name: "CSimulShims"),
        .target(name: "SimulJSON"),
        .target(
            name: "Simul",
            dependencies: [
                "CSimulShims",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SimulQueue",
            dependencies: [
                "Simul", "SimulJSON", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SimulSQLite",
            dependencies: [
                "Simul", "SimulQueue", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SimulRedisBroker",
            dependencies: [
                "Simul", "SimulJSON", "SimulQueue", "SimulRedis", "SimulRESP",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SimulBrokers",
            dependencies: [
                "Simul", "SimulQueue", "SimulRedisBroker", "SimulSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SimulTasks", dependencies: ["Simul", "SimulJSON", "SimulQueue"]),
        .target(
            name: "SimulDashboard",
            dependencies: [
                "Simul",
                "SimulJSON",
                "SimulQueue",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SimulBench",
            dependencies: [
                "Simul", "SimulBrokers", "SimulDemos", "SimulJSON", "SimulQueue", "SimulRedis", "SimulRESP",
                "SimulTasks",
            ]
        ),
        // The RESP parser and encoder, on NIOCore alone: its fuzz harness builds without the TLS stack.
        .target(name: "SimulRESP", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // AMQP 0-9-1's frames, methods, content headers and field tables, on NIOCore alone (docs/rabbitmq.md): the
        // first layer of the RabbitMQ client, fuzzed like the RESP parser.
        .target(name: "SimulAMQPWire", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "SimulAMQPWireTests",
            dependencies: ["SimulAMQPWire", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "SimulRedis",
            dependencies: [
                "SimulRESP",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SimulDemos",
            dependencies: [
                "Simul",
                "SimulJSON",
                "SimulQueue",
                "SimulSQLite",
                "SimulTasks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The queue's subcommands, for `simul` and for a user's own executable (docs/commands.md).
        .target(
            name: "SimulCommands",
            dependencies: [
                "Simul",
                "SimulBrokers",
                "SimulDashboard",
                "SimulJSON",
                "SimulQueue",
                "SimulTasks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
        .executableTarget(
            name: "SimulCLI",
            dependencies: [
                "Simul", "SimulBench", "SimulCommands", "SimulDemos", "SimulTasks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test helpers: waiting for a condition, a manual clock, scratch directories, the built executables and the
        // process-pool test tasks (no queue, no Redis); a queue with a worker on it; a Redis server for a test.
        .target(name: "SimulTestSupport", dependencies: ["Simul"], path: "Tests/SimulTestSupport"),
        .target(
            name: "SimulQueueTestSupport",
            dependencies: ["SimulJSON", "SimulQueue", "SimulTestSupport"],
            path: "Tests/SimulQueueTestSupport"
        ),
        .target(
            name: "SimulRedisTestSupport",
            dependencies: ["SimulProcessSupport", "SimulRedis"],
            path: "Tests/SimulRedisTestSupport"
        ),
        .executableTarget(
            name: "SimulTestWorker",
            dependencies: ["Simul", "SimulTestSupport"],
            path: "Tests/SimulTestWorker"
        ),
        // The Swift client of interop/scenarios.py's typed-tasks scenario: typed sends and gets over Redis.
        .executableTarget(
            name: "SimulInteropClient",
            dependencies: ["SimulBrokers", "SimulQueue", "SimulTasks"],
            path: "Tests/SimulInteropClient"
        ),
        .executableTarget(
            name: "SimulServiceTestApp",
            dependencies: [
                "SimulBrokers", "SimulDashboard", "SimulQueue", "SimulTasks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Tests/SimulServiceTestApp"
        ),
        .executableTarget(
            name: "SimulCommandsTestApp", dependencies: ["SimulCommands", "SimulQueue"],
            path: "Tests/SimulCommandsTestApp"),
        // The drivers of scripts/faults.sh and scripts/browser-test.sh, and what they share: child processes in their
        // own process groups, interruptible waits, a redis-server of their own.
        .target(
            name: "SimulProcessSupport",
            dependencies: [
                "Simul", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/SimulProcessSupport"
        ),
        .executableTarget(name: "SimulFaultSuite", dependencies: driverDependencies, path: "Tests/SimulFaultSuite"),
        .executableTarget(name: "SimulBrowserSuite", dependencies: driverDependencies, path: "Tests/SimulBrowserSuite"),
        // One test target per library module.
        .testTarget(
            name: "SimulTests",
            dependencies: ["CSimulShims", "Simul", "SimulTestSupport", "SimulTestWorker"]
        ),
        .testTarget(name: "SimulJSONTests", dependencies: ["SimulJSON"]),
        .testTarget(name: "SimulBenchTests", dependencies: ["SimulBench"]),
        .testTarget(
            name: "SimulQueueTests",
            dependencies: [
                "Simul", "SimulJSON", "SimulQueue", "SimulQueueTestSupport", "SimulSQLite", "SimulTestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "SimulSQLiteTests",
            dependencies: [
                "Simul", "SimulJSON", "SimulQueue", "SimulQueueTestSupport", "SimulSQLite", "SimulTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "SimulRedisTests",
            dependencies: [
                "Simul",
                "SimulRedis", "SimulRESP",
                "SimulProcessSupport", "SimulRedisTestSupport",
                "SimulTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SimulRedisBrokerTests",
            dependencies: [
                "Simul", "SimulJSON", "SimulQueue", "SimulQueueTestSupport", "SimulRedis", "SimulRedisBroker",
                "SimulRESP", "SimulProcessSupport", "SimulRedisTestSupport", "SimulTestSupport",
            ]
        ),
        .testTarget(
            name: "SimulBrokersTests",
            dependencies: [
                "Simul", "SimulBrokers", "SimulJSON", "SimulProcessSupport", "SimulQueue", "SimulRedisBroker",
                "SimulRedisTestSupport",
                "SimulTestSupport",
            ]
        ),
        .testTarget(
            name: "SimulTasksTests",
            dependencies: [
                "Simul", "SimulCLI", "SimulJSON", "SimulQueue", "SimulQueueTestSupport", "SimulSQLite", "SimulTasks",
                "SimulTestSupport",
            ]
        ),
        .testTarget(
            name: "SimulDashboardTests",
            dependencies: [
                "Simul",
                "SimulDashboard",
                "SimulJSON",
                "SimulQueue",
                "SimulTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "SimulDemosTests",
            dependencies: ["Simul", "SimulCLI", "SimulDemos", "SimulJSON", "SimulTasks", "SimulTestSupport"]
        ),
        .testTarget(
            name: "SimulCLITests",
            dependencies: [
                "SimulServiceTestApp", "SimulCommandsTestApp",
                "Simul", "SimulCLI", "SimulJSON", "SimulQueue", "SimulRedis", "SimulRedisBroker", "SimulRESP",
                "SimulProcessSupport", "SimulRedisTestSupport",
                "SimulSQLite", "SimulTasks", "SimulTestSupport",
            ]
        ),
    ]
)

// The libFuzzer harnesses of the RESP parser, the AMQP frame codec, and the JSON parser and message codec, built only by scripts/fuzz.sh
// (SIMUL_FUZZ=1), so users and the main build never build them. `-parse-as-library` leaves `main` to libFuzzer.
if Context.environment["SIMUL_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(
            name: "RESPFuzz",
            dependencies: ["SimulRESP", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/RESPFuzz",
            exclude: ["corpus", "resp.dict"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "AMQPFuzz",
            dependencies: ["SimulAMQPWire", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/AMQPFuzz",
            exclude: ["corpus", "amqp.dict"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "JSONFuzz",
            dependencies: ["SimulJSON", "SimulQueue"],
            path: "Fuzz/JSONFuzz",
            exclude: ["corpus", "json.dict"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
}

for target in package.targets where target.type != .system && target.name != "CSimulShims" {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

// `SIMUL_DOCS=1 swift package generate-documentation --target Simul --target SimulQueue` builds the DocC catalogs
// (docs/packaging.md); without it the plugin is not a dependency, so consumers never resolve it.
if Context.environment["SIMUL_DOCS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"))
}

// Every dependency on another package, except the core's (swift-collections and swift-log), is the `Queue` trait's.
let corePackages: Set<String> = ["swift-collections", "swift-log"]
for target in package.targets {
    target.dependencies = target.dependencies.map { dependency in
        guard case .productItem(let name, let owner?, let aliases, nil) = dependency, !corePackages.contains(owner)
        else { return dependency }
        return .product(name: name, package: owner, moduleAliases: aliases, condition: .when(traits: ["Queue"]))
    }
}
