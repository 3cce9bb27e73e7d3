// swift-tools-version:6.1
// An app of its own that uses Simul as a team would: typed tasks, its own command line, and a worker beside a
// Hummingbird app in one ServiceGroup (README.md).
import PackageDescription

let package = Package(
    name: "thumbnails",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "thumbnails", targets: ["Thumbnails"])],
    dependencies: [
        .package(name: "simul", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "Thumbnails",
            dependencies: [
                .product(name: "SimulCommands", package: "simul"),
                .product(name: "SimulQueue", package: "simul"),
                .product(name: "SimulBrokers", package: "simul"),
                .product(name: "SimulDashboard", package: "simul"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        )
    ]
)
