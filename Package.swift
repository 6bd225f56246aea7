// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "reconcile",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "reconcile", targets: ["reconcile"]),
        .executable(name: "reconcile-workload", targets: ["reconcile-workload"]),
        .executable(name: "reconcile-bundle", targets: ["reconcile-bundle"]),
        .library(name: "ReconcileCore", targets: ["ReconcileCore"]),
        // For the fuzz targets of Fuzz/, which depend on this package by path.
        .library(name: "ReconcileManifest", targets: ["ReconcileManifest"]),
        .library(name: "DockerEngine", targets: ["DockerEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Pure core: manifest model, observed state, planner, config hash, labels. No I/O; its
        // one dependency is swift-crypto, for SHA-256.
        .target(name: "ReconcileCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // What validation sends and how it reads answers: the bundled workload's provider, a
        // user's requests file, JSON paths. Pure, like the core.
        .target(name: "ReconcileValidation", dependencies: ["ReconcileCore"], exclude: ["README.md"]),
        // YAML (Compose Specification + x-reconcile) to the core model, with positioned diagnostics.
        .target(
            name: "ReconcileManifest",
            dependencies: ["ReconcileCore", "ReconcileValidation", .product(name: "Yams", package: "Yams")]
        ),
        // A typed async client of the Docker Engine API. Knows nothing of manifests or plans.
        .target(
            name: "DockerEngine",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256 of a docker context's name: where the CLI keeps its metadata.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Where the core meets the engine: observer, executor, lock.
        .target(
            name: "ReconcileRuntime",
            dependencies: [
                "ReconcileCore", "ReconcileManifest", "ReconcileValidation", "DockerEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // The Swarm target: Compose → service specs, the Swarm observer, planner and executor.
        .target(
            name: "ReconcileSwarm", dependencies: ["ReconcileCore", "DockerEngine"], exclude: ["README.md"]),
        // Argument parsing, views and exit codes.
        .target(
            name: "ReconcileCommands",
            dependencies: [
                "ReconcileCore", "ReconcileManifest", "DockerEngine", "ReconcileRuntime", "ReconcileController", "ReconcileSwarm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The controller daemon: the observe/plan/execute loop, backoff, metrics, logs and HTTP endpoints.
        .target(
            name: "ReconcileController",
            dependencies: [
                "ReconcileCore", "ReconcileManifest", "DockerEngine", "ReconcileRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(name: "reconcile", dependencies: ["ReconcileCommands"]),
        .executableTarget(name: "reconcile-bench", dependencies: ["ReconcileCore"]),
        // Fakes and fixtures shared by tests: the in-memory host, the fake engine.
        .target(
            name: "ReconcileTestSupport",
            dependencies: [
                "ReconcileCore", "DockerEngine", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The Swarm target against the fake swarm: conversion, planner, executor. No daemon.
        .testTarget(
            name: "ReconcileSwarmTests",
            dependencies: ["ReconcileSwarm", "ReconcileCore", "ReconcileManifest", "DockerEngine", "ReconcileTestSupport"]
        ),
        // The Swarm target against a real swarm (scripts/swarm-cluster): run by scripts/test
        // with DOCKER_HOST at the private swarm's manager.
        .testTarget(
            name: "SwarmIntegrationTests",
            dependencies: ["ReconcileSwarm", "ReconcileCore", "ReconcileManifest", "DockerEngine", "ReconcileCommands"]
        ),
        .testTarget(name: "ReconcileCoreTests", dependencies: ["ReconcileCore", "ReconcileTestSupport"]),
        .testTarget(name: "ReconcileManifestTests", dependencies: ["ReconcileManifest", "ReconcileCore"]),
        .testTarget(
            name: "DockerEngineTests",
            dependencies: [
                "DockerEngine", "ReconcileTestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ReconcileControllerTests",
            dependencies: [
                "ReconcileController", "ReconcileCore", "ReconcileRuntime", "ReconcileManifest", "DockerEngine",
                "ReconcileTestSupport", "ReconcileCommands", .product(name: "Logging", package: "swift-log"),
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // The runtime against the fake engine: fast, no daemon.
        .testTarget(
            name: "ReconcileRuntimeTests",
            dependencies: ["ReconcileRuntime", "ReconcileCore", "DockerEngine", "ReconcileTestSupport", "ReconcileManifest", "ReconcileValidation"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ReconcileCore", "ReconcileManifest", "DockerEngine", "ReconcileRuntime", "ReconcileValidation",
                "ReconcileCommands", "ReconcileTestSupport", "ReconcileController",
            ]
        ),
        // The bundled inference workload (README.md, section Workload).
        // OpenBLAS's CBLAS interface from Debian's libopenblas-dev.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        // zlib, to read the gzip-compressed digits data set.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Models, math (OpenBLAS on CPU, the CUDA driver API on GPU), training and the benchmark.
        .target(
            name: "WorkloadCore", dependencies: ["ReconcileCore", "COpenBLAS", "CZlib"],
            // The CUDA C source of PTX.swift (scripts/gen-ptx).
            exclude: ["Kernels"]),
        // The HTTP application (Hummingbird), built in one function shared by the executable and tests.
        .target(
            name: "WorkloadServer",
            dependencies: [
                "WorkloadCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The workload's commands (serve, run, train, gpus, healthcheck), as a library so the
        // image's single executable can carry them next to reconcile's.
        .target(
            name: "WorkloadCommands",
            dependencies: [
                "WorkloadCore", "WorkloadServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "reconcile-workload", dependencies: ["WorkloadCommands"]),
        // The image's executable: reconcile, and the workload when run as reconcile-workload.
        .executableTarget(name: "reconcile-bundle", dependencies: ["ReconcileCommands", "WorkloadCommands", "WorkloadCore"]),
        .testTarget(
            name: "WorkloadTests",
            dependencies: [
                "ReconcileCore", "WorkloadCore", "WorkloadServer", "ReconcileRuntime", "ReconcileValidation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
