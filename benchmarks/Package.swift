// swift-tools-version: 6.1
import PackageDescription

/// Canopy's speed and memory goals, measured with ordo-one/benchmark.
/// Run from this folder: `swift package benchmark` (or `--target Wire`).
let benchmarkTarget: (String, [Target.Dependency]) -> Target = { name, dependencies in
    .executableTarget(
        name: name,
        dependencies: dependencies + [.product(name: "Benchmark", package: "benchmark")],
        path: "Benchmarks/\(name)",
        swiftSettings: [.swiftLanguageMode(.v6)],
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "canopy-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "canopy", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        benchmarkTarget("Wire", [
            .product(name: "CanopyCore", package: "canopy"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        benchmarkTarget("Signing", [
            .product(name: "CanopyCore", package: "canopy"),
            .product(name: "CanopyStream", package: "canopy"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        benchmarkTarget("Audio", [.product(name: "CanopyAudio", package: "canopy")]),
        benchmarkTarget("Simulator", [.product(name: "CanopySim", package: "canopy")]),
        benchmarkTarget("Forwarding", [
            .product(name: "CanopyCore", package: "canopy"),
            .product(name: "CanopyStream", package: "canopy"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
    ]
)
