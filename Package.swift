// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "repro-check",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Builder", targets: ["Builder"]),
        .library(name: "Harness", targets: ["Harness"]),
        .executable(name: "repro-check", targets: ["repro-check"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // zlib reads gzip-compressed base images; the system copy is what Debian ships.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // zstd compresses OCI layers; Debian's libzstd, whose version is reported with every build.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "Builder",
            dependencies: [
                "CZlib",
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // Child builds are started with fork, so the child can ask to die with its parent
        // (PR_SET_PDEATHSIG) between fork and exec; posix_spawn and swift-subprocess offer no
        // such hook on Linux, and only C can run safely in a forked copy of a threaded process.
        .target(name: "CChildSpawn"),
        .target(
            name: "Harness",
            dependencies: [
                "Builder",
                "CChildSpawn",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        .executableTarget(
            name: "repro-check",
            dependencies: [
                "Builder",
                "Harness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "BuilderTests", dependencies: ["Builder"], exclude: ["Fixtures"]),
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "Builder"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Builder", "Harness"]),
    ]
)
