// swift-tools-version:5.10
import PackageDescription

/// The libFuzzer driver for every parser (A2ATSFuzzTargets in the main package). A package of
/// its own because it must be built with `-sanitize=fuzzer,address -parse-as-library`, which
/// the main package's `swift build` and tests must not get; scripts/fuzz.sh builds and runs it.
let package = Package(
    name: "a2ats-fuzz",
    // Named, so that the product reference does not depend on the checkout's folder name.
    dependencies: [.package(name: "a2ats-eval", path: "..")],
    targets: [
        .executableTarget(name: "a2ats-fuzz", dependencies: [.product(name: "A2ATSFuzzTargets", package: "a2ats-eval")]),
    ]
)
