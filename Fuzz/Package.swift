// swift-tools-version: 6.1
// Fuzz targets, kept out of the main package so its build and tests never see the fuzzer's
// flags: `Scripts/fuzz` builds this package with `--sanitize fuzzer`,
// which instruments Builder too (it is built from source as a path dependency).
import PackageDescription

let fuzzTarget = { (name: String) -> Target in
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Builder", package: "repro-check")],
        // libFuzzer supplies main(); the target only defines LLVMFuzzerTestOneInput.
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "repro-check-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "repro-check", path: "..")],
    targets: ["FuzzTar", "FuzzJSON", "FuzzSpec", "FuzzGzip"].map(fuzzTarget)
)
