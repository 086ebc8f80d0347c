// swift-tools-version: 6.1
import PackageDescription

/// Canopy: live Opus audio over application-level multicast (SplitStream push, mesh pull).
/// The module map follows ../shared/DESIGN.md: sans-IO protocol cores at the bottom,
/// two drivers (simulator, UDP) and the `canopy` tool on top.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "canopy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "canopy", targets: ["canopy"]),
        .library(name: "CanopyCore", targets: ["CanopyCore"]),
        .library(name: "CanopyStream", targets: ["CanopyStream"]),
        .library(name: "CanopyAudio", targets: ["CanopyAudio"]),
        .library(name: "CanopyPastry", targets: ["CanopyPastry"]),
        .library(name: "CanopyTree", targets: ["CanopyTree"]),
        .library(name: "CanopyMesh", targets: ["CanopyMesh"]),
        .library(name: "CanopySim", targets: ["CanopySim"]),
        .library(name: "CanopyNet", targets: ["CanopyNet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "COpus", path: "Sources/Shims/COpus", pkgConfig: "opus",
                       providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "COgg", path: "Sources/Shims/COgg", pkgConfig: "ogg",
                       providers: [.apt(["libogg-dev"])]),
        .systemLibrary(name: "CSndfile", path: "Sources/Shims/CSndfile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),

        .target(name: "CanopyCore", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: swiftSettings),
        .target(name: "CanopyStream", dependencies: [
            "CanopyCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: swiftSettings),
        .target(name: "CanopyAudio", dependencies: ["COpus", "COgg", "CSndfile"],
                swiftSettings: swiftSettings),
        .target(name: "CanopyPastry", dependencies: ["CanopyCore"], swiftSettings: swiftSettings),
        .target(name: "CanopyTree", dependencies: ["CanopyCore", "CanopyPastry", "CanopyStream"],
                swiftSettings: swiftSettings),
        .target(name: "CanopyMesh", dependencies: [
            "CanopyCore", "CanopyStream",
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: swiftSettings),
        .target(name: "CanopySim", dependencies: [
            "CanopyCore", "CanopyStream", "CanopyPastry", "CanopyTree", "CanopyMesh",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Collections", package: "swift-collections"),
        ], swiftSettings: swiftSettings),
        .target(name: "CanopyNet", dependencies: [
            "CanopyCore", "CanopyStream", "CanopyAudio", "CanopyPastry", "CanopyTree", "CanopyMesh",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: swiftSettings),
        .executableTarget(name: "canopy", dependencies: [
            "CanopyCore", "CanopyStream", "CanopyAudio", "CanopySim", "CanopyNet", "CanopyMesh",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swiftSettings),

        .testTarget(name: "CanopyCoreTests", dependencies: ["CanopyCore"], swiftSettings: swiftSettings),
        .testTarget(name: "CanopyStreamTests", dependencies: ["CanopyStream", "CanopyCore"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CanopyAudioTests", dependencies: ["CanopyAudio"], swiftSettings: swiftSettings),
        .testTarget(name: "CanopyPastryTests", dependencies: ["CanopyPastry", "CanopyCore", "CanopySim"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CanopyTreeTests", dependencies: ["CanopyTree", "CanopyCore", "CanopySim"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CanopyMeshTests", dependencies: ["CanopyMesh", "CanopyCore", "CanopySim"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CanopySimTests", dependencies: ["CanopySim", "CanopyCore"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "CanopyNetTests", dependencies: ["CanopyNet", "CanopyCore", "CanopyStream", "CanopyAudio"],
                    swiftSettings: swiftSettings),
    ]
)
