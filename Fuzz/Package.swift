// swift-tools-version: 6.0
// libFuzzer targets for reconcile's parsers and decoders (README.md). Built only by
// scripts/fuzz, with -sanitize=fuzzer on every Swift module, never by the main package.
import PackageDescription

let targets: [(name: String, product: String)] = [
    ("FuzzManifest", "ReconcileManifest"), ("FuzzDotEnv", "ReconcileManifest"), ("FuzzInterpolation", "ReconcileManifest"),
    ("FuzzEngineJSON", "DockerEngine"), ("FuzzEvents", "DockerEngine"), ("FuzzDemux", "DockerEngine"),
]

let package = Package(
    name: "reconcile-fuzz",
    dependencies: [.package(name: "reconcile", path: "..")],
    targets: [.target(name: "CFuzzer")] + targets.map { target in
        .executableTarget(
            name: target.name,
            dependencies: ["CFuzzer", .product(name: target.product, package: "reconcile")]
        )
    }
)
