// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Gatehouse's own code builds without warnings. One warning in particular hid a freeze:
    // "no 'async' operations occur within 'await'" meant a blocking GRDB read on the
    // cooperative pool. Dependencies are not affected by this setting.
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatehouse", targets: ["GatehouseCLI"]),
        .executable(name: "embed-example", targets: ["embed-example"]),
        .executable(name: "gatehouse-fuzz", targets: ["GatehouseFuzz"]),
        .library(name: "GatehouseCore", targets: ["GatehouseCore"]),
        .library(name: "GatehouseMCP", targets: ["GatehouseMCP"]),
        .library(name: "GatehouseAuth", targets: ["GatehouseAuth"]),
        .library(name: "GatehouseOAuth", targets: ["GatehouseOAuth"]),
        .library(name: "GatehouseSQLite", targets: ["GatehouseSQLite"]),
        .library(name: "GatehousePostgres", targets: ["GatehousePostgres"]),
        .library(name: "GatehouseHub", targets: ["GatehouseHub"]),
        .library(name: "GatehouseServer", targets: ["GatehouseServer"]),
        .library(name: "GatehouseClient", targets: ["GatehouseClient"]),
        .library(name: "GatehouseEgress", targets: ["GatehouseEgress"]),
        .library(name: "GatehouseGateway", targets: ["GatehouseGateway"]),
        .library(name: "GatehouseDoctor", targets: ["GatehouseDoctor"]),
        .library(name: "GatehouseLogin", targets: ["GatehouseLogin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", exact: "0.12.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.1.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
    ],
    targets: [
        .target(
            name: "GatehouseCore",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseMCP",
            dependencies: [
                "GatehouseCore",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseEgress",
            dependencies: [
                "GatehouseCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseAuth",
            dependencies: [
                "GatehouseCore",
                "GatehouseEgress",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseOAuth",
            dependencies: [
                "GatehouseCore",
                "GatehouseAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseSQLite",
            dependencies: [
                "GatehouseCore",
                "GatehouseOAuth",
                "GatehouseHub",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehousePostgres",
            dependencies: [
                "GatehouseCore",
                "GatehouseOAuth",
                "GatehouseHub",
                "GatehouseMCP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseHub",
            dependencies: [
                "GatehouseCore",
                "GatehouseMCP",
                "GatehouseAuth",
                "GatehouseClient",
                "GatehouseEgress",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseGateway",
            dependencies: [
                "GatehouseCore",
                "GatehouseMCP",
                "GatehouseEgress",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseLogin",
            dependencies: [
                "GatehouseCore", "GatehouseAuth", "GatehouseOAuth", "GatehouseEgress",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseDoctor",
            dependencies: [
                "GatehouseCore", "GatehouseAuth", "GatehouseEgress", "GatehouseLogin", "GatehousePostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseFuzzing",
            dependencies: [
                "GatehouseCore", "GatehouseAuth", "GatehouseOAuth", "GatehouseMCP", "GatehouseEgress",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GatehouseFuzz",
            dependencies: ["GatehouseFuzzing"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseServer",
            dependencies: [
                "GatehouseCore",
                "GatehouseMCP",
                "GatehouseGateway",
                "GatehouseHub",
                "GatehouseAuth",
                "GatehouseOAuth",
                "GatehouseLogin",
                "GatehouseSQLite",
                "GatehousePostgres",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatehouseClient",
            dependencies: [
                "GatehouseCore",
                "GatehouseEgress",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "GatehouseCLI",
            dependencies: [
                "GatehouseCore",
                "GatehouseServer",
                "GatehouseGateway",
                "GatehouseDoctor",
                "GatehouseClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EmbedExample",
            dependencies: [
                "GatehouseCore", "GatehouseMCP", "GatehouseHub", "GatehouseServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Examples/EmbedExample/App",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "embed-example",
            dependencies: [
                "EmbedExample", "GatehouseCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/EmbedExample/Main",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bench-ceiling",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/Ceiling",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "gatehouse-bench",
            dependencies: [
                "GatehouseMCP",
                "GatehouseHub",
                "GatehouseSQLite",
                "GatehouseAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/EndpointBench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseCoreTests",
            dependencies: ["GatehouseCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseMCPTests",
            dependencies: [
                "GatehouseMCP",
                "GatehouseHub",
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseEgressTests",
            dependencies: [
                "GatehouseEgress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseAuthTests",
            dependencies: [
                "GatehouseAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseOAuthTests",
            dependencies: [
                "GatehouseOAuth", "GatehouseAuth", "GatehouseEgress", "GatehouseSQLite", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseSQLiteTests",
            dependencies: ["GatehouseSQLite", "GatehouseOAuth", "GatehouseCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StoreConformanceTests",
            dependencies: ["GatehouseSQLite", "GatehousePostgres", "GatehouseCore", "GatehouseOAuth", "GatehouseHub", "GatehouseAuth", "GatehouseMCP"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseFuzzingTests",
            dependencies: ["GatehouseFuzzing"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseHubTests",
            dependencies: ["GatehouseHub", "GatehouseSQLite", "GatehouseMCP", "GatehouseAuth", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseClientTests",
            dependencies: [
                "GatehouseClient", "GatehouseEgress", "GatehouseServer", "GatehouseHub", "GatehouseMCP", "GatehouseCore", "GatehouseSQLite",
                "GatehouseAuth",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbedExampleTests",
            dependencies: [
                "EmbedExample", "GatehouseCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseLoginTests",
            dependencies: ["GatehouseLogin", "GatehouseCore", "GatehouseEgress"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseDoctorTests",
            dependencies: ["GatehouseDoctor", "GatehouseAuth", "GatehouseCore", "GatehouseEgress"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseGatewayTests",
            dependencies: [
                "GatehouseGateway", "GatehouseServer", "GatehouseMCP", "GatehouseCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatehouseServerTests",
            dependencies: [
                "GatehouseServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
