// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "simul",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Simul", targets: ["Simul"]),
        .executable(name: "simul", targets: ["SimulCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "CSimulShims"),
        .target(
            name: "Simul",
            dependencies: [
                "CSimulShims",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SimulBench", dependencies: ["Simul"]),
        .target(
            name: "SimulDemos",
            dependencies: ["Simul", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "SimulCLI",
            dependencies: [
                "Simul",
                "SimulBench",
                "SimulDemos",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "SimulTestSupport", dependencies: ["Simul"], path: "Tests/SimulTestSupport"),
        .executableTarget(
            name: "SimulTestWorker",
            dependencies: ["Simul", "SimulTestSupport"],
            path: "Tests/SimulTestWorker"
        ),
        .testTarget(
            name: "SimulTests",
            dependencies: ["CSimulShims", "Simul", "SimulTestSupport", "SimulTestWorker"]
        ),
        .testTarget(name: "SimulDemosTests", dependencies: ["SimulDemos"]),
    ]
)

for target in package.targets where target.type != .system && target.name != "CSimulShims" {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
