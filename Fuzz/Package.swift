// swift-tools-version: 6.1
// Fuzz targets, kept out of the main package so its build and tests never see the fuzzer's
// flags: `Scripts/fuzz` builds this package with `--sanitize fuzzer`,
// which instruments Builder too (it is built from source as a path dependency).
import PackageDescription

let fuzzTarget = { (name: String, product: String, support: Bool) -> Target in
    .executableTarget(
        name: name,
        dependencies: [.product(name: product, package: "repro-check")] + (support ? ["FuzzSupport"] : []),
        // libFuzzer supplies main(); the target only defines LLVMFuzzerTestOneInput.
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "repro-check-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "repro-check", path: "..")],
    // FuzzOCI reads OCI layouts the way `diff` does, which lives in Harness (and so builds GRDB
    // too); the others need only Builder.
    targets: ["FuzzTar", "FuzzJSON", "FuzzSpec"].map { fuzzTarget($0, "Builder", false) }
        + ["FuzzGzip", "FuzzZstd"].map { fuzzTarget($0, "Builder", true) }
        + [
            fuzzTarget("FuzzOCI", "Harness", false),
            // What the decompression targets share: feeding one input several ways and requiring
            // the same outcome.
            .target(name: "FuzzSupport", dependencies: [.product(name: "Builder", package: "repro-check")]),
        ]
)
